// For the components of LiveValueElement (live_value.py): the component draws its own copy of one prop. A full
// update of the element replaces the copy, and show(value) replaces it without one.
export function liveValue(prop) {
  return {
    data() {
      return { shown: this[prop] };
    },
    watch: {
      [prop](value) {
        this.shown = value;
      },
    },
    methods: {
      show(value) {
        this.shown = value;
      },
    },
  };
}
