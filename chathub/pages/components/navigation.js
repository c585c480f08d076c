// The frame's navigation (see Navigation in navigation.py): the markup NiceGUI's row, link, icon and label
// elements rendered, drawn by one component. New unread totals arrive through show() (live_value.js), so that
// they re-render this component, not the page.
import { liveValue } from "live_value";

export default {
  props: { links: Array, count: Number },
  mixins: [liveValue("count")],
  template: `
    <nav class="nicegui-column w-full">
      <div class="nicegui-row row items-center gap-2 px-4 py-4">
        <i class="q-icon notranslate material-icons text-primary" aria-hidden="true" style="font-size: 24px;">forum</i>
        <div class="text-xl font-bold">ChatHub</div>
      </div>
      <a v-for="link in links" :key="link.path" :href="link.path" target="_self"
         class="nicegui-link no-underline text-inherit w-full">
        <div class="nicegui-row row items-center gap-3 px-4 py-2 w-full hover:bg-slate-100 dark:hover:bg-slate-700 rounded-none">
          <i class="q-icon notranslate material-icons text-slate-500" aria-hidden="true">{{ link.icon }}</i>
          <div>{{ link.label }}</div>
          <template v-if="link.path === '/'">
            <div class="q-space"></div>
            <div v-if="shown" role="status"
                 class="q-badge flex inline items-center no-wrap q-badge--single-line bg-primary q-badge--rounded unread-total">{{ shown }}</div>
          </template>
        </div>
      </a>
    </nav>
  `,
};
