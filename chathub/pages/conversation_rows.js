// The inbox rows, drawn in the browser from plain data (see ConversationRows in conversation_rows.py). The rows
// come as one JSON string: as a list, NiceGUI would wrap every row in observable containers on each update.
// Every customer-written value goes in through {{ }} or a bound attribute: Vue renders it as text.
export default {
  props: { data: String, selected: Number },
  computed: {
    rows() {
      // each row carries its own JSON as a signature: v-memo re-renders only the rows that changed
      return JSON.parse(this.data || "[]").map((row) => ({ ...row, signature: JSON.stringify(row) }));
    },
  },
  template: `
    <div class="w-full">
      <a v-for="row in rows" :key="row.id" v-memo="[row.signature, row.id === selected]"
         :href="'/conversations/' + row.id" :data-conversation="row.id"
         :class="['conversation-row nicegui-link no-underline text-inherit w-full block',
                  row.id === selected ? 'bg-indigo-50 dark:bg-slate-700' : 'hover:bg-slate-100 dark:hover:bg-slate-800']">
        <div class="w-full flex flex-row flex-nowrap items-start gap-3 px-3 py-3 border-b border-slate-100 dark:border-slate-800">
          <q-avatar text-color="white" size="md" :style="{ background: 'hsl(' + row.hue + ' 55% 45%)' }">
            <span class="font-semibold leading-none">{{ row.initials }}</span>
          </q-avatar>
          <div class="grow min-w-0 flex flex-col">
            <div class="w-full flex flex-row flex-nowrap items-center gap-1">
              <span :class="['truncate', row.unread ? 'font-semibold' : 'font-medium']">{{ row.name }}</span>
              <q-icon :name="row.channel_icon" size="xs" class="text-slate-400">
                <q-tooltip>{{ row.channel_label }}</q-tooltip>
              </q-icon>
              <span class="grow"></span>
              <span class="text-xs text-slate-500 shrink-0">{{ row.time }}</span>
            </div>
            <div class="w-full flex flex-row flex-nowrap items-center gap-1">
              <span class="text-sm text-slate-500 truncate grow">{{ row.preview }}</span>
              <q-badge v-if="row.unread" rounded class="unread-badge" :label="String(row.unread)" />
            </div>
            <div v-if="row.status || row.assignee" class="flex flex-row items-center gap-2 mt-1">
              <q-badge v-if="row.status" outline :color="row.status_color" :label="row.status" />
              <span v-if="row.assignee" class="text-xs text-slate-500">{{ row.assignee }}</span>
            </div>
          </div>
        </div>
      </a>
    </div>
  `,
};
