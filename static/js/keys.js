// Page shortcuts (Space, arrows, Enter, letters) never take a key from the control that has the
// focus: a text field or a slider keeps its keys, a button or link keeps Enter and Space (a
// focused "step ▶" steps on Space), and a key a view already handled (a network cell's arrows)
// is not handled twice.

const TYPING = "input, select, textarea, dialog, [contenteditable]";
const PRESSABLE = "button, a[href], summary, [role=button], [role=link], [role=tab]";

export function ownsKey(event) {
  if (event.defaultPrevented) return true;
  const target = event.target;
  if (!target?.closest) return false;
  if (target.closest(TYPING)) return true;
  return (event.key === " " || event.key === "Enter") && Boolean(target.closest(PRESSABLE));
}
