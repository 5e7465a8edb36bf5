// Small SVG helpers: create elements, and save a drawn SVG as a PNG (styles inlined, since an
// SVG turned into an image no longer sees the page's stylesheet).

const NS = "http://www.w3.org/2000/svg";

export function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

const INLINED = [
  "fill", "stroke", "stroke-width", "stroke-dasharray", "opacity", "font-size", "font-weight",
  "font-family", "font-style", "text-anchor", "dominant-baseline", "visibility", "display",
];

export function download(href, filename) {
  const link = Object.assign(document.createElement("a"), { href, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
}

// Render `svg` to a PNG at `scale` and download it.
export function saveSvgAsPng(svg, filename, scale = 2) {
  const clone = svg.cloneNode(true);
  const source = [svg, ...svg.querySelectorAll("*")];
  const target = [clone, ...clone.querySelectorAll("*")];
  source.forEach((node, i) => {
    const style = getComputedStyle(node);
    target[i].setAttribute("style", INLINED.map((p) => `${p}:${style.getPropertyValue(p)}`).join(";"));
  });
  const box = svg.getBoundingClientRect();
  clone.setAttribute("width", box.width);
  clone.setAttribute("height", box.height);
  clone.setAttribute("xmlns", NS);
  const data = new XMLSerializer().serializeToString(clone);
  const image = new Image();
  image.onload = () => {
    const canvas = document.createElement("canvas");
    canvas.width = box.width * scale;
    canvas.height = box.height * scale;
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.scale(scale, scale);
    context.drawImage(image, 0, 0, box.width, box.height);
    download(canvas.toDataURL("image/png"), filename);
  };
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(data)}`;
}
