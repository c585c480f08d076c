// The canned replies list above the reply box (see CannedPicker in canned_picker.py). While it is open, the keys
// that work it (↑/↓, Enter, Tab, Esc) are taken before the reply box and the page's shortcuts see them: Enter
// inserts the highlighted reply instead of sending, Esc closes the list instead of leaving the box.
const KEYS = { ArrowUp: "up", ArrowDown: "down", Enter: "pick", Tab: "pick", Escape: "close" };

export default {
  props: { box_id: String, open: Boolean },
  template: `<div role="listbox"><slot></slot></div>`,
  mounted() {
    this.listener = (event) => this.handle(event);
    document.addEventListener("keydown", this.listener, true);  // capture: before the box's own Enter
  },
  unmounted() {
    document.removeEventListener("keydown", this.listener, true);
  },
  methods: {
    handle(event) {
      const key = KEYS[event.key];
      if (!this.open || !key || event.isComposing || event.ctrlKey || event.metaKey) return;
      if (!event.target.closest?.(`#${this.box_id}`)) return;
      event.preventDefault();
      event.stopPropagation();
      this.$emit("key", key);
    },
  },
};
