// The inbox rows, drawn in the browser from plain data (see ConversationRows in conversation_rows.py). The rows
// come as one JSON string: as a list, NiceGUI would wrap every row in observable containers on each update.
// Every customer-written value goes in through {{ }} or a bound attribute: Vue renders it as text; a search's
// highlighted words are separate <mark> elements around such text, never markup built from it.
// Rows never grow wider than the list: whatever is long (a name, a preview, a word with no space) truncates in a
// min-w-0 box, and the time, the icons and the badge do not shrink.
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
          <div class="q-avatar text-white q-chip--colored shrink-0" :style="{ fontSize: '32px', background: 'hsl(' + row.hue + ' 55% 45%)' }">
            <div class="q-avatar__content row flex-center overflow-hidden">
              <span class="font-semibold leading-none">{{ row.initials }}</span>
            </div>
          </div>
          <div class="grow min-w-0 flex flex-col">
            <div class="w-full flex flex-row flex-nowrap items-center gap-1">
              <span :class="['truncate min-w-0', row.unread ? 'font-semibold' : 'font-medium']">{{ row.name }}</span>
              <i v-if="row.priority_title" :class="['q-icon notranslate material-icons shrink-0 priority-icon', row.priority_class]"
                 style="font-size: 18px" role="img" :title="row.priority_title" :aria-label="row.priority_title">flag</i>
              <i class="q-icon notranslate material-icons text-slate-400 shrink-0" style="font-size: 18px" role="img"
                 :title="row.channel_label" :aria-label="row.channel_label">{{ row.channel_icon }}</i>
              <span class="grow"></span>
              <span class="conversation-time text-xs text-slate-500 shrink-0 whitespace-nowrap" :title="row.time_title">{{ row.time }}</span>
            </div>
            <div class="w-full flex flex-row flex-nowrap items-center gap-1">
              <i v-if="row.failed" class="q-icon notranslate material-icons text-red-600 shrink-0 failed-reply-mark"
                 style="font-size: 16px" role="img" title="A reply failed to send" aria-label="A reply failed to send">error</i>
              <span :class="['conversation-preview text-sm truncate grow min-w-0', row.failed ? 'text-red-700 dark:text-red-400' : 'text-slate-500']"><template
                  v-if="row.failed"><span class="font-medium">Failed to send</span> · </template><template
                  v-if="row.match"><template v-for="(part, i) in row.match" :key="i"><mark v-if="part.hit"
                  class="search-hit bg-amber-200 dark:bg-amber-700 text-inherit rounded-sm">{{ part.text }}</mark><template
                  v-else>{{ part.text }}</template></template></template><template v-else>{{ row.preview }}</template></span>
              <div v-if="row.unread" role="status" :aria-label="String(row.unread)"
                   class="q-badge flex inline items-center no-wrap q-badge--single-line q-badge--rounded unread-badge shrink-0">{{ row.unread }}</div>
            </div>
            <div v-if="row.status || row.snoozed || row.assignee || row.labels.length" class="w-full flex flex-row flex-wrap items-center gap-x-2 gap-y-1 mt-1">
              <div v-if="row.status" role="status" :aria-label="row.status"
                   :class="['q-badge flex inline items-center no-wrap q-badge--single-line q-badge--outline shrink-0', 'text-' + row.status_color]">{{ row.status }}</div>
              <span v-if="row.snoozed" class="text-xs text-blue-700 dark:text-blue-300 snoozed-until truncate min-w-0">{{ row.snoozed }}</span>
              <span v-if="row.assignee" class="text-xs text-slate-500 truncate min-w-0">{{ row.assignee }}</span>
              <span v-for="label in row.labels" :key="label.name" :style="label.style"
                    class="label-chip inline-block rounded-full px-2 text-xs leading-5 truncate max-w-[10rem]">{{ label.name }}</span>
            </div>
          </div>
        </div>
      </a>
    </div>
  `,
};
