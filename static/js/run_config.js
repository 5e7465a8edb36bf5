// The run configuration's fields as the protocol's JSON Schema describes them, embedded by the
// server in every page (#run-config): each field's type, whether it may be null, its options.
// Pages read their option lists and their URL parsing from here, never from a list of their own.

const embedded = JSON.parse(document.getElementById("run-config")?.textContent || "{}");
const FIELDS = embedded.fields ?? {};
const LABELS = embedded.labels ?? {};

export const CONFIG_FIELDS = Object.keys(FIELDS);

export function isConfigField(name) {
  return Object.hasOwn(FIELDS, name);
}

// The choices of a field (the cells, the optimizers, ...), in the protocol's order.
export function optionsOf(name) {
  return FIELDS[name]?.options ?? [];
}

// How a choice reads on the page ("norm": "by norm").
export function optionLabel(value) {
  return LABELS[value] ?? String(value);
}

// A field's value from text (a URL parameter), typed as the server expects; undefined if the
// text is no such value.
export function parseField(name, raw) {
  const field = FIELDS[name];
  if (!field) return undefined;
  if (field.nullable && (raw === "" || raw === "null" || raw === "none")) return null;
  if (field.type === "string") return raw; // a value the server refuses is shown beside its knob
  const value = Number(raw);
  if (!Number.isFinite(value)) return undefined;
  return field.type === "integer" ? Math.round(value) : value;
}
