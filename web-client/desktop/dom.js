/**
 * The one way the desktop builds DOM: `h(tag, props, ...children)`. Text goes in through
 * `textContent` / text nodes only, never as HTML, so no message, name or attribute can inject
 * markup. Props: `class`, `text`, `on` (event listeners), `attrs` (set with setAttribute),
 * and any other key assigned as a property (`hidden`, `disabled`, `type`, `value`, …).
 */

/**
 * @param {string} tag
 * @param {object} [props]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'on') for (const [name, fn] of Object.entries(value)) el.addEventListener(name, fn);
    else if (key === 'attrs') for (const [name, v] of Object.entries(value)) el.setAttribute(name, String(v));
    else el[key] = value;
  }
  append(el, children);
  return el;
}

/** Appends children (strings become text nodes; empty ones are skipped). */
export function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** Replaces all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}
