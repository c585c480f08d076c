// The unread total in the navigation (see UnreadBadge in unread_badge.py): plain markup with the classes
// Quasar's q-badge renders. New totals arrive through show(), so that they re-render this badge, not the page.
import { liveValue } from "live_value";

export default {
  props: { count: Number },
  mixins: [liveValue("count")],
  template: `
    <div v-if="shown" role="status"
         class="q-badge flex inline items-center no-wrap q-badge--single-line bg-primary q-badge--rounded unread-total">{{ shown }}</div>
  `,
};
