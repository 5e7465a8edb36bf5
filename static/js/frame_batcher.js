// Draw at most once per animation frame, whatever the rate frames arrive at: views mark
// themselves dirty and render the latest state only.

export function batched(render) {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      render();
    });
  };
}
