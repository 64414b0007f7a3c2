/**
 * Safe simple rich text for chat messages, shared by the webchat widget and the agent desktop.
 * `parseRichText` turns a message body into plain data; `renderRichText` turns that into DOM
 * nodes made only with `createElement`, `createTextNode`, `textContent` and `setAttribute` on a
 * fixed set of attributes. Nothing here ever parses HTML: `<img src=x onerror=…>` is text.
 *
 * Grammar (anything that does not match is literal text; an unclosed marker too):
 *   body       = block *(blank-line block)
 *   block      = 1*(paragraph-line | bullet-item | numbered-item)   consecutive lines
 *   bullet     = ("- " | "* ") inline          numbered = digits ". " inline
 *   inline     = *(bold | italic | link | url | text)
 *   bold       = "**" inline "**"              italic = ("*" inline "*") | ("_" inline "_")
 *   link       = "[" label "](" target ")"     target: http:, https: or mailto: only
 *   url        = ("http://" | "https://") 1*non-space   trailing punctuation left out
 * Consecutive paragraph lines are kept apart by a line break; consecutive list items of one
 * kind make one list. Markers must hug their text (`** x**` is literal), and `_` only opens
 * and closes at a word boundary so snake_case stays as typed.
 *
 * The tree (plain objects, safe to JSON-encode or compare):
 *   Block  = {type: 'paragraph', children: Inline[]}
 *          | {type: 'list', ordered: boolean, start: number, items: Inline[][]}
 *   Inline = {type: 'text', text: string} | {type: 'break'}
 *          | {type: 'bold', children: Inline[]} | {type: 'italic', children: Inline[]}
 *          | {type: 'link', href: string, children: Inline[]}
 */

/** Link schemes that may become an `href`; anything else stays text. */
const SAFE_SCHEMES = ['http:', 'https:', 'mailto:'];

/** How deep emphasis may nest before the rest is taken as text (keeps recursion bounded). */
const MAX_DEPTH = 8;

const BULLET = /^[-*] (.*)$/;
const NUMBERED = /^(\d{1,9})\. (.*)$/;
/** Sticky: matched at one position of the line, never on a copy of its rest. */
const BARE_URL = /https?:\/\/[^\s<>]+/iy;

/**
 * The blocks of a message body (see the module doc for the tree).
 * @param {string} text
 * @returns {object[]}
 */
export function parseRichText(text) {
  const lines = String(text ?? '')
    .replace(/\r\n?/g, '\n')
    .split('\n');
  const blocks = [];
  let paragraph = null;
  let list = null;
  const endBlock = () => {
    paragraph = null;
    list = null;
  };
  for (const line of lines) {
    if (line.trim() === '') {
      endBlock();
      continue;
    }
    const bullet = BULLET.exec(line);
    const numbered = bullet ? null : NUMBERED.exec(line);
    if (bullet || numbered) {
      const ordered = Boolean(numbered);
      if (!list || list.ordered !== ordered) {
        list = { type: 'list', ordered, start: ordered ? Number(numbered[1]) : 1, items: [] };
        blocks.push(list);
      }
      paragraph = null;
      list.items.push(parseInline(ordered ? numbered[2] : bullet[1]));
      continue;
    }
    list = null;
    if (paragraph) {
      paragraph.children.push({ type: 'break' }, ...parseInline(line));
    } else {
      paragraph = { type: 'paragraph', children: parseInline(line) };
      blocks.push(paragraph);
    }
  }
  return blocks;
}

/**
 * `href` for a link target, or null when it is not an http:, https: or mailto: URL.
 * @param {string} target
 * @returns {string | null}
 */
export function safeHref(target) {
  const raw = String(target ?? '').trim();
  if (!/^(https?:\/\/|mailto:)/i.test(raw)) return null;
  try {
    const url = new URL(raw);
    return SAFE_SCHEMES.includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/** The inline nodes of one line. */
function parseInline(text) {
  return new InlineParser(text).parse(0, text.length, 0, false);
}

const isSpace = (c) => c === undefined || /\s/.test(c);
const isWordChar = (c) => c !== undefined && /[\p{L}\p{N}_]/u.test(c);

/**
 * Scans one line. A closer that is not found from some position (before some end) is not
 * found from any later one either, so failed searches are remembered, and so are the places
 * of `](` and `)`: a line full of lone markers costs no more than one scan per marker.
 */
class InlineParser {
  constructor(text) {
    this.text = text;
    /** `marker:end` → the position from which no closer exists before `end` */
    this.noCloserFrom = new Map();
    /** needle → {from, at}: `text.indexOf(needle, from)` was `at` */
    this.found = new Map();
  }

  /** `text.indexOf(needle, from)`, reusing the last answer when it still holds. */
  indexOf(needle, from) {
    const last = this.found.get(needle);
    if (last && last.from <= from && (last.at < 0 || last.at >= from)) return last.at;
    const at = this.text.indexOf(needle, from);
    this.found.set(needle, { from, at });
    return at;
  }

  parse(from, to, depth, inLink) {
    const out = [];
    let plain = '';
    const flush = () => {
      if (plain) out.push({ type: 'text', text: plain });
      plain = '';
    };
    const t = this.text;
    let i = from;
    while (i < to) {
      const match = depth < MAX_DEPTH ? this.#node(i, to, depth, inLink) : null;
      if (match) {
        flush();
        out.push(match.node);
        i = match.end;
      } else {
        plain += t[i];
        i++;
      }
    }
    flush();
    return out;
  }

  /** The node starting at `i`, with the position after it, or null. */
  #node(i, to, depth, inLink) {
    const t = this.text;
    const c = t[i];
    if (c === '*' && t[i + 1] === '*') return this.#emphasis(i, to, '**', 'bold', depth, inLink);
    if (c === '*' || c === '_') return this.#emphasis(i, to, c, 'italic', depth, inLink);
    if (c === '[' && !inLink) return this.#link(i, to, depth);
    if ((c === 'h' || c === 'H') && !inLink && !isWordChar(t[i - 1])) return this.#url(i, to);
    return null;
  }

  #emphasis(i, to, marker, type, depth, inLink) {
    const t = this.text;
    const start = i + marker.length;
    if (isSpace(t[start])) return null;
    if (marker === '_' && isWordChar(t[i - 1])) return null;
    const close = this.#closer(marker, start + 1, to);
    if (close < 0) return null;
    return {
      node: { type, children: this.parse(start, close, depth + 1, inLink) },
      end: close + marker.length,
    };
  }

  /** The first valid closing `marker` at or after `from` (before `to`), or -1. */
  #closer(marker, from, to) {
    const t = this.text;
    const key = `${marker}:${to}`;
    const known = this.noCloserFrom.get(key);
    if (known !== undefined && from >= known) return -1;
    for (let j = t.indexOf(marker, from); j >= 0 && j + marker.length <= to; j = t.indexOf(marker, j + 1)) {
      if (isSpace(t[j - 1])) continue;
      if (marker === '*' && (t[j + 1] === '*' || t[j - 1] === '*')) continue;
      if (marker === '_' && isWordChar(t[j + 1])) continue;
      return j;
    }
    this.noCloserFrom.set(key, from);
    return -1;
  }

  #link(i, to, depth) {
    const t = this.text;
    const mid = this.indexOf('](', i + 1);
    if (mid < 0 || mid + 2 > to || mid === i + 1) return null;
    const close = this.indexOf(')', mid + 2);
    if (close < 0 || close >= to) return null;
    const target = t.slice(mid + 2, close);
    const href = /\s/.test(target.trim()) ? null : safeHref(target);
    if (!href) return null;
    return {
      node: { type: 'link', href, children: this.parse(i + 1, mid, depth + 1, true) },
      end: close + 1,
    };
  }

  #url(i, to) {
    BARE_URL.lastIndex = i;
    const found = BARE_URL.exec(this.text);
    if (!found) return null;
    let url = found[0].slice(0, to - i);
    // Punctuation ending a sentence is not part of the link; nor is an unbalanced ")".
    for (;;) {
      const last = url[url.length - 1];
      if (/[.,;:!?'"*_]/.test(last)) url = url.slice(0, -1);
      else if (last === ')' && count(url, '(') < count(url, ')')) url = url.slice(0, -1);
      else break;
    }
    const href = safeHref(url);
    if (!href) return null;
    return { node: { type: 'link', href, children: [{ type: 'text', text: url }] }, end: i + url.length };
  }
}

function count(s, c) {
  return s.split(c).length - 1;
}

/**
 * The DOM of a message body: `<p>`, `<ul>`/`<ol>` with `<li>`, `<strong>`, `<em>`, `<br>` and
 * `<a href rel="noopener noreferrer" target="_blank">`. Text only ever becomes text nodes.
 * @param {string} text
 * @param {Document} [doc]
 * @returns {DocumentFragment}
 */
export function renderRichText(text, doc = globalThis.document) {
  return renderBlocks(parseRichText(text), doc);
}

/**
 * The DOM of an already parsed tree (see `renderRichText`).
 * @param {object[]} blocks
 * @param {Document} [doc]
 * @returns {DocumentFragment}
 */
export function renderBlocks(blocks, doc = globalThis.document) {
  const fragment = doc.createDocumentFragment();
  for (const block of blocks) {
    if (block.type === 'list') {
      const list = doc.createElement(block.ordered ? 'ol' : 'ul');
      if (block.ordered && block.start !== 1) list.setAttribute('start', String(block.start));
      for (const item of block.items) {
        const li = doc.createElement('li');
        appendInline(li, item, doc);
        list.appendChild(li);
      }
      fragment.appendChild(list);
    } else {
      const p = doc.createElement('p');
      appendInline(p, block.children, doc);
      fragment.appendChild(p);
    }
  }
  return fragment;
}

const TAGS = { bold: 'strong', italic: 'em' };

function appendInline(parent, nodes, doc) {
  for (const node of nodes) {
    switch (node.type) {
      case 'text':
        parent.appendChild(doc.createTextNode(node.text));
        break;
      case 'break':
        parent.appendChild(doc.createElement('br'));
        break;
      case 'link': {
        const href = safeHref(node.href);
        if (!href) {
          appendInline(parent, node.children, doc);
          break;
        }
        const a = doc.createElement('a');
        a.setAttribute('href', href);
        a.setAttribute('rel', 'noopener noreferrer');
        a.setAttribute('target', '_blank');
        appendInline(a, node.children, doc);
        parent.appendChild(a);
        break;
      }
      case 'bold':
      case 'italic': {
        const el = doc.createElement(TAGS[node.type]);
        appendInline(el, node.children, doc);
        parent.appendChild(el);
        break;
      }
      default:
        break;
    }
  }
}

/**
 * The body as plain text, markers removed (for previews, notifications and `aria-label`s).
 * @param {string} text
 * @returns {string}
 */
export function richTextToPlain(text) {
  const inline = (nodes) =>
    nodes.map((n) => (n.type === 'text' ? n.text : n.type === 'break' ? '\n' : inline(n.children))).join('');
  return parseRichText(text)
    .map((b) => (b.type === 'list' ? b.items.map(inline).join('\n') : inline(b.children)))
    .join('\n\n');
}
