// The small Markdown the lesson texts use, as safe HTML: headings, paragraphs, **bold**,
// `code`, indented code blocks, "- " and "1. " lists and pipe tables. Everything is escaped
// first.

const escape = (text) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function inline(text) {
  return escape(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[\s(])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>");
}

function table(lines) {
  const cells = (line) => line.trim().replace(/^\||\|$/g, "").split("|").map((c) => inline(c.trim()));
  const [head, , ...body] = lines;
  const th = cells(head).map((c) => `<th>${c}</th>`).join("");
  const rows = body.map((line) => `<tr>${cells(line).map((c) => `<td>${c}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${th}</tr></thead><tbody>${rows}</tbody></table>`;
}

const LIST_ITEM = /^\s*([-*]|\d+\.) /;

// A pipe table starts here: a row, then a |---|---| separator.
const tableStart = (lines, i) => /^\s*\|/.test(lines[i]) && /^\s*\|[\s:|-]+\|\s*$/.test(lines[i + 1] ?? "");

export function renderMarkdown(source) {
  const blocks = [];
  const lines = source.replace(/\r\n/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i += 1;
    } else if (/^#{1,4} /.test(line)) {
      const level = Math.min(4, line.match(/^#+/)[0].length + 2);
      blocks.push(`<h${level}>${inline(line.replace(/^#+ /, ""))}</h${level}>`);
      i += 1;
    } else if (line.startsWith("    ")) {
      const code = [];
      while (i < lines.length && (lines[i].startsWith("    ") || !lines[i].trim())) code.push(lines[i++].slice(4));
      blocks.push(`<pre>${escape(code.join("\n").trimEnd())}</pre>`);
    } else if (tableStart(lines, i)) {
      const rows = [];
      while (i < lines.length && /^\s*\|/.test(lines[i])) rows.push(lines[i++]);
      blocks.push(table(rows));
    } else if (LIST_ITEM.test(line)) {
      const items = [];
      const first = line.match(/^\s*(\d+)\. /)?.[1];
      while (i < lines.length && lines[i].trim() && !/^#/.test(lines[i])) {
        if (LIST_ITEM.test(lines[i])) items.push(lines[i].replace(LIST_ITEM, ""));
        else items[items.length - 1] += ` ${lines[i].trim()}`;
        i += 1;
      }
      const tag = first ? "ol" : "ul";
      const start = first && first !== "1" ? ` start="${Number(first)}"` : "";
      blocks.push(`<${tag}${start}>${items.map((item) => `<li>${inline(item)}</li>`).join("")}</${tag}>`);
    } else {
      const text = [lines[i++].trim()]; // always take a line: no input can stall the loop
      while (i < lines.length && lines[i].trim() && !/^(#{1,4} | {4})/.test(lines[i]) && !LIST_ITEM.test(lines[i]) && !tableStart(lines, i)) {
        text.push(lines[i++].trim());
      }
      blocks.push(`<p>${inline(text.join(" "))}</p>`);
    }
  }
  return blocks.join("\n");
}
