// A plain text message as one element (see TextBubble in text_bubble.py). Everything is text: segments go in
// through {{ }}, and only the http(s) URLs the server found become links.
export default {
  props: { data: String },
  computed: {
    m() {
      return JSON.parse(this.data || "{}");
    },
  },
  template: `
    <div :class="['w-full flex flex-row', m.outbound ? 'justify-end' : 'justify-start']">
      <div :class="[m.outbound ? 'bg-indigo-100 dark:bg-indigo-900' : 'bg-[#fff] dark:bg-slate-700',
                    'rounded-2xl px-3 py-2 flex flex-col gap-1 max-w-[80%] sm:max-w-[70%] shadow-sm chat-bubble']">
        <div class="whitespace-pre-wrap break-words text-[15px] leading-snug"><template v-for="(s, i) in m.segments" :key="i"><a v-if="s.href" :href="s.href" target="_blank" rel="noopener noreferrer" class="nicegui-link break-all underline">{{ s.text }}</a><span v-else>{{ s.text }}</span></template></div>
        <div class="flex flex-row items-center gap-1 text-[11px] text-slate-500 justify-end w-full">
          <span v-if="m.agent" class="font-medium">{{ m.agent }}</span>
          <span v-if="m.edited" class="italic" :title="m.edited">edited</span>
          <span :title="m.time_title">{{ m.time }}</span>
          <span v-if="m.received" class="received-late italic" :title="m.time_title">· {{ m.received }}</span>
          <q-icon v-if="m.status_icon" :name="m.status_icon" size="14px" :class="m.status_class" :title="m.status_label" />
        </div>
      </div>
    </div>
  `,
};
