// Your data, your model, your code. A text or CSV file (and a trained PyTorch model: its
// .safetensors weights and JSON sidecar) goes to the server over HTTP, onto this session's shelf;
// the receipt says what the file holds (a CSV's columns with the normalisation each would get);
// "learn" switches the run to it (use_upload). The run can be taken away as one NumPy script
// (export_script), downloaded as a file. The receipts live in page_state (dataUpload,
// modelUpload); the run's own data, as the server runs it, comes with each hello.

import { formatNumber } from "../format.js";
import { state } from "../page_state.js";
import { download } from "../svg.js";

const TABLE_FILE = /\.(csv|tsv)$/i;

// A refused upload: the server's field, message and, for a file, its line and column.
class UploadError extends Error {
  constructor(name, body) {
    const where = body.line ? `line ${body.line}${body.column ? `, column ${body.column}` : ""}: ` : "";
    super(`${name}: ${where}${body.message ?? "refused"}`);
    this.field = body.field ?? null;
  }
}

// POST one file to /api/uploads/{kind} for this session; resolves with the receipt.
async function upload(stream, kind, file, params = {}) {
  const session = stream.sessionId;
  if (!session || stream.status !== "open") throw new Error("not connected: try again in a moment");
  const query = new URLSearchParams({ session, name: file.name, ...params });
  const response = await fetch(`/api/uploads/${kind}?${query}`, { method: "POST", body: file });
  const body = await response.json().catch(() => ({ message: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new UploadError(file.name, body);
  return { ...body, session };
}

function describeData(receipt) {
  if (receipt.text) {
    const { level, tokens, vocab_size: vocab, unknown, heldout_tokens: heldout } = receipt.text;
    const unit = level === "word" ? "words" : "characters";
    const rare = unknown ? " (the rarest read as <unk>)" : "";
    return `${receipt.name}: ${tokens} ${unit}, ${vocab} distinct${rare}; the last ${heldout} held out.`;
  }
  const table = receipt.table;
  const header = table.header ? "named in its header" : "no header";
  return `${receipt.name}: ${table.rows} rows of ${table.columns.length} columns (${header}); ` +
    `the last ${table.heldout_rows} rows held out; windows of up to ${table.max_seq_len} steps.`;
}

function describeModel(receipt) {
  const model = receipt.model;
  const reads = model.kind === "tokens" ? `${model.inputs.length} tokens` : model.inputs.join(", ");
  const head = model.has_head ? "its own nn.Linear head" : "no head: a fresh one is drawn";
  const embedding = model.embedding_size ? `, an nn.Embedding of ${model.embedding_size}` : "";
  return `${receipt.name}: ${model.module}, hidden size ${model.hidden_size}${embedding}; ` +
    `reads ${reads}, predicts ${model.outputs.length === 1 ? model.outputs[0] : `${model.outputs.length} tokens`}; ${head}.`;
}

export function mount(root, stream) {
  const $ = (selector) => root.querySelector(selector);
  const dataFile = $("input[name=data]");
  const level = $("select[name=level]");
  const target = $("select[name=target]");
  const inputs = $("[data-role=inputs]");
  const weights = $("input[name=weights]");
  const sidecar = $("input[name=sidecar]");
  const useData = $("[data-action=use-data]");
  const useModel = $("[data-action=use-model]");
  const scaling = $("[data-role=scaling]");
  const message = $("[data-role=message]");
  const say = (text, ok = false) => {
    message.textContent = text;
    message.classList.toggle("ok", ok);
  };
  state.set({ dataUpload: null, modelUpload: null });
  // Enter and Space here open the panel and press its buttons, not the page's shortcuts (finish
  // the iteration, play); the other keys (→ to step) still reach the page.
  const ownKey = (event) => (event.key === "Enter" || event.key === " ") && event.stopPropagation();
  for (const type of ["keydown", "keyup"]) root.addEventListener(type, ownKey);

  // ------------------------------------------------------------------ the data file

  const chosenColumns = () => [...inputs.querySelectorAll("input:checked")].map((box) => box.value);

  const showScaling = (scales, columns) => {
    const rows = columns.filter((name) => scales?.[name]).map((name) => {
      const row = document.createElement("tr");
      for (const text of [name, formatNumber(scales[name].mean, 3), formatNumber(scales[name].std, 3)]) {
        row.append(Object.assign(document.createElement(row.children.length ? "td" : "th"), { textContent: text }));
      }
      return row;
    });
    scaling.tBodies[0].replaceChildren(...rows);
    scaling.hidden = !rows.length;
  };

  const showColumns = (receipt) => {
    const table = receipt?.table ?? null;
    for (const element of root.querySelectorAll("[data-role=columns]")) element.hidden = !table;
    $("[data-role=level]").hidden = Boolean(table);
    if (!table) return;
    target.replaceChildren(...table.columns.map((name) => new Option(name, name)));
    target.value = table.columns[table.columns.length - 1];
    inputs.replaceChildren(...table.columns.map((name) => {
      const box = Object.assign(document.createElement("input"), { type: "checkbox", value: name });
      const label = document.createElement("label");
      label.append(box, ` ${name}`);
      return label;
    }));
  };

  // The normalisation the chosen columns would get (before learning from them).
  const previewScaling = () => {
    const table = state.get("dataUpload")?.table;
    showScaling(table?.scaling, table ? [...new Set([target.value, ...chosenColumns()])] : []);
  };
  target.addEventListener("change", previewScaling);
  inputs.addEventListener("change", previewScaling);

  const sendData = async () => {
    const file = dataFile.files[0];
    state.set({ dataUpload: null });
    if (!file) return;
    const kind = TABLE_FILE.test(file.name) ? "csv" : "text";
    say(`reading ${file.name}…`, true);
    try {
      const receipt = await upload(stream, kind, file, kind === "text" ? { level: level.value } : {});
      state.set({ dataUpload: receipt });
      say("");
    } catch (error) {
      say(error.message);
    }
  };
  dataFile.addEventListener("change", sendData);
  level.addEventListener("change", () => dataFile.files[0] && sendData());

  state.watch("dataUpload", ({ dataUpload }) => {
    $("[data-role=data-summary]").textContent = dataUpload ? describeData(dataUpload) : "";
    useData.disabled = !dataUpload;
    showColumns(dataUpload);
    previewScaling();
    refreshModel();
  });

  // ------------------------------------------------------------------ the model's two files

  const sendModel = async () => {
    state.set({ modelUpload: null });
    const files = [sidecar.files[0], weights.files[0]];
    if (!files[0] || !files[1]) {
      if (files[0] || files[1]) say(`now choose its ${files[0] ? "weights" : "sidecar"}`, true);
      return;
    }
    say(`reading ${files[1].name}…`, true);
    try {
      const side = await upload(stream, "sidecar", files[0]);
      state.set({ modelUpload: await upload(stream, "weights", files[1], { sidecar: side.id }) });
      say("");
    } catch (error) {
      say(error.message);
    }
  };
  weights.addEventListener("change", sendModel);
  sidecar.addEventListener("change", sendModel);

  function refreshModel() {
    const model = state.get("modelUpload");
    $("[data-role=model-summary]").textContent = model ? describeModel(model) : "";
    useModel.disabled = !model || !state.get("dataUpload");
    useModel.title = model && !state.get("dataUpload") ? "upload the data it reads first" : "";
  }
  state.watch("modelUpload", refreshModel);

  // ------------------------------------------------------------------ learning from them

  const learn = async (fields) => {
    say("");
    try {
      await stream.request("use_upload", fields);
      say(`learning ${state.get("dataUpload").name}`, true);
    } catch (error) {
      if (error.code !== "closed") say(error.message);
    }
  };
  useData.addEventListener("click", () => {
    const receipt = state.get("dataUpload");
    const table = receipt.table ? { target: target.value, inputs: chosenColumns() } : {};
    learn({ upload_id: receipt.id, ...table });
  });
  useModel.addEventListener("click", () => {
    learn({ upload_id: state.get("dataUpload").id, model_id: state.get("modelUpload").id });
  });

  stream.on("hello", (frame) => {
    // Uploads live on a session's shelf: a new session (after a reconnect) has none of them.
    for (const key of ["dataUpload", "modelUpload"]) {
      if (state.get(key) && state.get(key).session !== frame.session_id) state.set({ [key]: null });
    }
    const own = frame.upload;
    let text = "a lesson's data";
    if (own?.kind === "text") text = `${own.name}, read as ${own.level === "word" ? "words" : "characters"}`;
    if (own?.kind === "series") text = `${own.name}: forecast ${own.target} from ${own.inputs.join(", ")}`;
    if (own?.model) text += `; model: ${own.model}`;
    // The equations drawn for a GRU are Cho et al.'s; a loaded nn.GRU runs torch's form.
    if (own?.model?.startsWith("nn.GRU")) text += " (torch's GRU: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)))";
    $("[data-role=in-use]").textContent = text;
    if (own?.scaling) showScaling(own.scaling, Object.keys(own.scaling));
    else previewScaling();
  });

  // ------------------------------------------------------------------ the run as code

  $("[data-action=script]").addEventListener("click", async () => {
    say("");
    const iterations = Math.round(Number($("input[name=iterations]").value)) || 1;
    try {
      const script = await stream.request("export_script", { iterations, start: $("select[name=start]").value });
      const href = URL.createObjectURL(new Blob([script.source], { type: "text/x-python" }));
      download(href, script.filename);
      setTimeout(() => URL.revokeObjectURL(href), 5000);
      say(`${script.filename}: iterations ${script.first_iteration} to ${script.last_iteration}`, true);
    } catch (error) {
      if (error.code !== "closed") say(error.message);
    }
  });
}
