/**
 * Accessibility checks the browser tests run on a live page, inside shadow roots too (the
 * webchat widget lives in one):
 * - every visible control (button, link, input, select, textarea, `[role=button]`) has an
 *   accessible name (`aria-label`, `aria-labelledby`, a `<label>`, or its own text);
 * - every visible piece of text has WCAG 2.1 AA contrast against the background it sits on
 *   (4.5:1, or 3:1 for large text: 24px, or 18.66px bold), computed from the cascaded colours
 *   with their alpha and the element's opacity composited over the ancestors' backgrounds,
 *   once running transitions have finished;
 * - keyboard focus can be followed: `focusedElement` names what Tab reached, through shadow
 *   roots.
 *
 * These are the mechanical parts of WCAG AA; they cannot tell whether a label is a good one.
 */

/** What the page reports: controls without a name, and text below its contrast minimum. */
export async function audit(page) {
  return page.evaluate(() => {
    const parse = (css) => {
      const m = css.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = '1'] = m[1].split(/[,\s/]+/).filter(Boolean);
      return { r: +r, g: +g, b: +b, a: +a };
    };
    const over = (top, bottom) => {
      const a = top.a + bottom.a * (1 - top.a);
      if (a === 0) return { r: 0, g: 0, b: 0, a: 0 };
      const mix = (t, b) => (t * top.a + b * bottom.a * (1 - top.a)) / a;
      return { r: mix(top.r, bottom.r), g: mix(top.g, bottom.g), b: mix(top.b, bottom.b), a };
    };
    const luminance = ({ r, g, b }) => {
      const lin = (c) => {
        const s = c / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const ratio = (x, y) => {
      const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
      return (hi + 0.05) / (lo + 0.05);
    };
    const parentOf = (el) => el.parentElement ?? (el.parentNode instanceof ShadowRoot ? el.parentNode.host : null);
    /** The colour behind `el`: its own and its ancestors' backgrounds, over the canvas. */
    const backdrop = (el) => {
      const layers = [];
      for (let n = el; n; n = parentOf(n)) {
        const bg = parse(getComputedStyle(n).backgroundColor);
        if (bg && bg.a > 0) {
          layers.push(bg);
          if (bg.a >= 1) break;
        }
      }
      const canvas = parse(getComputedStyle(document.documentElement).backgroundColor);
      let color = canvas && canvas.a > 0 ? { ...canvas, a: 1 } : { r: 255, g: 255, b: 255, a: 1 };
      for (const layer of layers.reverse()) color = over(layer, color);
      return color;
    };
    const opacity = (el) => {
      let o = 1;
      for (let n = el; n; n = parentOf(n)) o *= parseFloat(getComputedStyle(n).opacity);
      return o;
    };
    const describe = (el) => {
      const id = el.id ? `#${el.id}` : '';
      const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
      return `${el.tagName.toLowerCase()}${id}${cls}`;
    };
    const rootOf = (el) => el.getRootNode();
    const textOf = (el) => (el.textContent ?? '').replace(/\s+/g, ' ').trim();
    const nameOf = (el) => {
      const label = el.getAttribute('aria-label');
      if (label?.trim()) return label.trim();
      const by = el.getAttribute('aria-labelledby');
      if (by) {
        const text = by.split(/\s+/).map((id) => textOf(rootOf(el).getElementById(id) ?? document.createElement('i'))).join(' ').trim();
        if (text) return text;
      }
      if (el.labels?.length) {
        const text = [...el.labels].map(textOf).join(' ').trim();
        if (text) return text;
      }
      if (['BUTTON', 'A'].includes(el.tagName) || el.getAttribute('role') === 'button') {
        const text = textOf(el) || [...el.querySelectorAll('img[alt]')].map((i) => i.alt).join(' ').trim();
        if (text) return text;
      }
      if (el.tagName === 'INPUT' && ['submit', 'button'].includes(el.type) && el.value) return el.value;
      return el.getAttribute('title')?.trim() ?? '';
    };

    const elements = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        elements.push(el);
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(document);
    // Colours mid-transition (a hover fading out) are not what the page shows at rest.
    for (const el of elements) {
      for (const animation of el.getAnimations()) {
        try {
          animation.finish();
        } catch {
          animation.cancel(); // an infinite one cannot finish
        }
      }
    }
    const visible = (el) => el.checkVisibility({ checkOpacity: false, checkVisibilityCSS: true });
    /** A file input hidden behind its styled label is named and operated through the label. */
    const offscreen = (el) => {
      const r = el.getBoundingClientRect();
      return r.width <= 1 && r.height <= 1;
    };

    const unnamed = [];
    const controls = 'button, a[href], input:not([type=hidden]), select, textarea, [role=button]';
    for (const el of elements) {
      if (!el.matches(controls) || !visible(el)) continue;
      if (offscreen(el) && !el.labels?.length) continue;
      if (!nameOf(el)) unnamed.push(describe(el));
    }

    const lowContrast = [];
    for (const el of elements) {
      const ownText = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
      const field = el.matches('input:not([type=hidden]):not([type=file]), textarea, select') && (el.value || el.placeholder);
      if ((!ownText && !field) || !visible(el) || offscreen(el)) continue;
      const style = getComputedStyle(el);
      // Disabled controls are exempt in WCAG 1.4.3.
      if (el.closest('button:disabled, fieldset:disabled') || el.matches(':disabled')) continue;
      const fg = parse(style.color);
      if (!fg) continue;
      const bg = backdrop(el);
      const shown = over({ ...fg, a: fg.a * opacity(el) }, bg);
      const size = parseFloat(style.fontSize);
      const bold = parseInt(style.fontWeight, 10) >= 700;
      const large = size >= 24 || (bold && size >= 18.66);
      const min = large ? 3 : 4.5;
      const got = ratio(shown, bg);
      if (got < min) {
        const sample = textOf(el).slice(0, 40) || el.placeholder;
        lowContrast.push(`${describe(el)} "${sample}": ${got.toFixed(2)} < ${min}`);
      }
    }
    return { unnamed, lowContrast };
  });
}

/** A short description of the focused element, looking inside shadow roots. */
export async function focusedElement(page) {
  return page.evaluate(() => {
    let el = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    if (!el || el === document.body) return '';
    const name = el.getAttribute('aria-label') || el.labels?.[0]?.textContent?.trim() || el.textContent?.trim() || '';
    return `${el.tagName.toLowerCase()}:${name.replace(/\s+/g, ' ').slice(0, 60)}`;
  });
}

/**
 * Presses Tab (at most `limit` times) until the focused element's description matches
 * `pattern`; fails with the path it took when it never does, so a control that cannot be
 * reached by keyboard fails the test.
 */
export async function tabTo(page, pattern, { limit = 40, backwards = false } = {}) {
  const path = [];
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
    const focused = await focusedElement(page);
    path.push(focused);
    if (pattern.test(focused)) return focused;
  }
  throw new Error(`Tab never reached ${pattern}; went through: ${path.join(' → ')}`);
}
