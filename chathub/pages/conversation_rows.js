// The inbox rows, drawn in the browser from plain data (see ConversationRows in conversation_rows.py). The rows
// come as one JSON string: as a list, NiceGUI would wrap every row in observable containers on each update.
// Every customer-written value goes in through {{ }} or a bound attribute: Vue renders it as text.
// The rows are plain elements with Quasar's classes, not Quasar components: a flood of new customers replaces
// every row at every redraw in every open inbox, and a component instance per avatar, icon, tooltip and badge
// was a fifth of such a tab's script time (a Chromium trace).
import { liveValue } from "live_value";

export default {
  props: { data: String, selected: Number },
  mixins: [liveValue("data")],
  data() {
    return { current: this.selected };
  },
  watch: {
    selected(value) {
      this.current = value;
    },
  },
  methods: {
    // the open conversation changed (a click, a key, back or forward): mark its row, and show it if it is hidden
    select(id) {
      this.current = id;
      this.$nextTick(() => this.$el.querySelector(`[data-conversation="${id}"]`)?.scrollIntoView({ block: "nearest" }));
    },
  },
  computed: {
    rows() {
      // each row carries its own JSON as a signature: v-memo re-renders only the rows that changed
      return JSON.parse(this.shown || "[]").map((row) => ({ ...row, signature: JSON.stringify(row) }));
    },
  },
  template: `
    <div class="w-full">
      <a v-for="row in rows" :key="row.id" v-memo="[row.signature, row.id === current]"
         :href="'/conversations/' + row.id" :data-conversation="row.id"
         :aria-current="row.id === current ? 'page' : null"
         :class="['conversation-row nicegui-link no-underline text-inherit w-full block',
                  row.id === current ? 'bg-indigo-50 dark:bg-slate-700' : 'hover:bg-slate-100 dark:hover:bg-slate-800']">
        <div class="w-full flex flex-row flex-nowrap items-start gap-3 px-3 py-3 border-b border-slate-100 dark:border-slate-800">
          <div class="q-avatar text-white q-chip--colored" :style="{ fontSize: '32px', background: 'hsl(' + row.hue + ' 55% 45%)' }">
            <div class="q-avatar__content row flex-center overflow-hidden">
              <span class="font-semibold leading-none">{{ row.initials }}</span>
            </div>
          </div>
          <div class="grow min-w-0 flex flex-col">
            <div class="w-full flex flex-row flex-nowrap items-center gap-1">
              <span :class="['truncate', row.unread ? 'font-semibold' : 'font-medium']">{{ row.name }}</span>
              <i class="q-icon notranslate material-icons text-slate-400" style="font-size: 18px" role="img"
                 :title="row.channel_label" :aria-label="row.channel_label">{{ row.channel_icon }}</i>
              <span class="grow"></span>
              <span class="text-xs text-slate-500 shrink-0">{{ row.time }}</span>
            </div>
            <div class="w-full flex flex-row flex-nowrap items-center gap-1">
              <span class="text-sm text-slate-500 truncate grow">{{ row.preview }}</span>
              <div v-if="row.unread" role="status" :aria-label="String(row.unread)"
                   class="q-badge flex inline items-center no-wrap q-badge--single-line q-badge--rounded unread-badge">{{ row.unread }}</div>
            </div>
            <div v-if="row.status || row.assignee" class="flex flex-row items-center gap-2 mt-1">
              <div v-if="row.status" role="status" :aria-label="row.status"
                   :class="['q-badge flex inline items-center no-wrap q-badge--single-line q-badge--outline', 'text-' + row.status_color]">{{ row.status }}</div>
              <span v-if="row.assignee" class="text-xs text-slate-500">{{ row.assignee }}</span>
            </div>
          </div>
        </div>
      </a>
    </div>
  `,
};
