// The inbox's keyboard shortcuts (see Shortcuts in shortcuts.py): one listener on the document that sends the
// server an action name, never the keystrokes themselves. A key typed into a field stays the field's, except
// Alt+↓/↑ (the next/previous conversation while typing) and Esc (leave the field).
const KEYS = { j: "next", k: "previous", "/": "search", r: "reply", n: "note", e: "resolve", s: "snooze", a: "assign", "?": "help" };
const TYPING_KEYS = { ArrowDown: "next-typing", ArrowUp: "previous-typing" };
const FIELDS = "input, textarea, select, [contenteditable]:not([contenteditable='false'])";

export default {
  template: "<span hidden></span>",
  mounted() {
    this.listener = (event) => this.handle(event);
    document.addEventListener("keydown", this.listener);
  },
  unmounted() {
    document.removeEventListener("keydown", this.listener);
  },
  methods: {
    handle(event) {
      if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey) return;
      const field = event.target.closest?.(FIELDS);
      if (event.altKey) {
        this.send(event, !event.shiftKey && TYPING_KEYS[event.key]);
      } else if (event.key === "Escape") {
        field?.blur();
      } else if (!field && !event.repeat && !document.querySelector(".q-dialog, .q-menu")) {
        this.send(event, KEYS[event.key]);  // an open dialog or menu has the keyboard
      }
    },
    send(event, action) {
      if (!action) return;
      event.preventDefault();
      this.$emit("shortcut", action);
    },
  },
};
