/**
 * Chat rich text (chat/richtext.js): each construct of the grammar, unclosed markers as text,
 * links refused unless http(s)/mailto, and HTML in a message staying text once rendered
 * (through a tiny fake document that records exactly which DOM calls were made).
 */

import test from 'node:test';
import assert from 'node:assert/strict';

import { parseRichText, renderRichText, richTextToPlain, safeHref } from '../chat/richtext.js';

const text = (t) => ({ type: 'text', text: t });
const para = (...children) => ({ type: 'paragraph', children });
const link = (href, label = href) => ({ type: 'link', href, children: [text(label)] });

test('plain text is one paragraph of one text node; blank lines split paragraphs', () => {
  assert.deepEqual(parseRichText('Hello there'), [para(text('Hello there'))]);
  assert.deepEqual(parseRichText('one\n\n\ntwo'), [para(text('one')), para(text('two'))]);
  assert.deepEqual(parseRichText(''), []);
  assert.deepEqual(parseRichText(null), []);
});

test('single newlines are line breaks inside a paragraph (CRLF too)', () => {
  assert.deepEqual(parseRichText('a\r\nb\nc'), [para(text('a'), { type: 'break' }, text('b'), { type: 'break' }, text('c'))]);
});

test('bold and both italics, nested', () => {
  assert.deepEqual(parseRichText('a **b** c'), [para(text('a '), { type: 'bold', children: [text('b')] }, text(' c'))]);
  assert.deepEqual(parseRichText('*i* and _j_'), [
    para({ type: 'italic', children: [text('i')] }, text(' and '), { type: 'italic', children: [text('j')] }),
  ]);
  assert.deepEqual(parseRichText('**bold _and italic_**'), [
    para({ type: 'bold', children: [text('bold '), { type: 'italic', children: [text('and italic')] }] }),
  ]);
});

test('unclosed or loose markers stay literal', () => {
  for (const literal of ['**not bold', '*not italic', '_nope', 'a * b * c', '** x**', '2 * 3 = 6', '[label](', '[x]']) {
    assert.deepEqual(parseRichText(literal), [para(text(literal))], literal);
  }
});

test('underscores inside words are not italics', () => {
  assert.deepEqual(parseRichText('my_file_name.txt'), [para(text('my_file_name.txt'))]);
  assert.deepEqual(parseRichText('snake_case and _this_'), [
    para(text('snake_case and '), { type: 'italic', children: [text('this')] }),
  ]);
});

test('bare http(s) URLs become links, without the punctuation that ends a sentence', () => {
  assert.deepEqual(parseRichText('See https://owl.example/a?b=1. Thanks'), [
    para(text('See '), link('https://owl.example/a?b=1'), text('. Thanks')),
  ]);
  assert.deepEqual(parseRichText('(http://owl.example/x)'), [para(text('('), link('http://owl.example/x'), text(')'))]);
  assert.deepEqual(parseRichText('https://en.wikipedia.org/wiki/Owl_(disambiguation)'), [
    para(link('https://en.wikipedia.org/wiki/Owl_(disambiguation)')),
  ]);
  assert.deepEqual(parseRichText('ftp://owl.example'), [para(text('ftp://owl.example'))]);
  assert.deepEqual(parseRichText('xhttps://owl.example'), [para(text('xhttps://owl.example'))]);
});

test('labelled links: http, https and mailto only', () => {
  assert.deepEqual(parseRichText('[our shop](https://owl.example/shop)'), [para(link('https://owl.example/shop', 'our shop'))]);
  assert.deepEqual(parseRichText('[mail us](mailto:help@owl.example)'), [para(link('mailto:help@owl.example', 'mail us'))]);
  assert.deepEqual(parseRichText('[**big**](http://owl.example/)'), [
    para({ type: 'link', href: 'http://owl.example/', children: [{ type: 'bold', children: [text('big')] }] }),
  ]);
});

test('javascript: (and other) links are refused and stay plain text', () => {
  for (const bad of [
    '[click](javascript:alert(1))',
    '[click](JavaScript:alert(1))',
    '[click]( javascript:alert(1))',
    '[x](data:text/html,<b>hi</b>)',
    '[x](vbscript:msgbox)',
    '[x](//evil.example)',
    '[x](/relative)',
  ]) {
    const blocks = parseRichText(bad);
    const json = JSON.stringify(blocks);
    assert.ok(!json.includes('"link"'), `${bad} → ${json}`);
    assert.equal(richTextToPlain(bad), bad);
  }
  assert.equal(safeHref('javascript:alert(1)'), null);
  assert.equal(safeHref('https://owl.example'), 'https://owl.example/');
});

test('bullet and numbered lists, split from paragraphs around them', () => {
  assert.deepEqual(parseRichText('Options:\n- one\n* **two**\n1. first\n2. second\nbye'), [
    para(text('Options:')),
    { type: 'list', ordered: false, start: 1, items: [[text('one')], [{ type: 'bold', children: [text('two')] }]] },
    { type: 'list', ordered: true, start: 1, items: [[text('first')], [text('second')]] },
    para(text('bye')),
  ]);
  assert.deepEqual(parseRichText('3. three')[0].start, 3);
  assert.deepEqual(parseRichText('-not a list'), [para(text('-not a list'))]);
});

test('a long line of lone markers parses in reasonable time', () => {
  const started = Date.now();
  for (const body of ['*'.repeat(50000), '_a '.repeat(20000), '['.repeat(50000), 'h'.repeat(50000), '**' + '*'.repeat(30000) + '**']) {
    parseRichText(body);
  }
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});

// --- rendering, through a fake document ----------------------------------------------------

/** The DOM calls `renderRichText` may make, and nothing else: any other call throws. */
function fakeDocument() {
  const calls = new Set();
  const node = (tag) => {
    const n = {
      tag,
      attributes: {},
      children: [],
      appendChild(child) {
        this.children.push(child);
        return child;
      },
      setAttribute(name, value) {
        calls.add(`setAttribute:${tag}.${name}`);
        this.attributes[name] = String(value);
      },
    };
    return n;
  };
  return {
    calls,
    createElement(tag) {
      calls.add(`createElement:${tag}`);
      return node(tag);
    },
    createTextNode(t) {
      calls.add('createTextNode');
      return { text: String(t) };
    },
    createDocumentFragment() {
      return node('#fragment');
    },
  };
}

/** Markup of the fake tree, with text escaped as a browser would serialize it. */
function serialize(n) {
  if ('text' in n) return n.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const inner = n.children.map(serialize).join('');
  if (n.tag === '#fragment') return inner;
  const attrs = Object.entries(n.attributes)
    .map(([k, v]) => ` ${k}="${v}"`)
    .join('');
  return n.tag === 'br' ? '<br>' : `<${n.tag}${attrs}>${inner}</${n.tag}>`;
}

test('rendering: HTML in a message is text, never markup', () => {
  const doc = fakeDocument();
  const html = serialize(renderRichText('<img src=x onerror=alert(1)>', doc));
  assert.equal(html, '<p>&lt;img src=x onerror=alert(1)&gt;</p>');
  assert.deepEqual([...doc.calls].sort(), ['createElement:p', 'createTextNode']);
});

test('rendering: every construct, links with rel and target', () => {
  const doc = fakeDocument();
  const html = serialize(
    renderRichText('Hi **you** and _me_\nline two\n\n- [shop](https://owl.example/s)\n\n2. see http://owl.example', doc),
  );
  assert.equal(
    html,
    '<p>Hi <strong>you</strong> and <em>me</em><br>line two</p>' +
      '<ul><li><a href="https://owl.example/s" rel="noopener noreferrer" target="_blank">shop</a></li></ul>' +
      '<ol start="2"><li>see <a href="http://owl.example/" rel="noopener noreferrer" target="_blank">http://owl.example</a></li></ol>',
  );
  const attributes = [...doc.calls].filter((c) => c.startsWith('setAttribute')).sort();
  assert.deepEqual(attributes, ['setAttribute:a.href', 'setAttribute:a.rel', 'setAttribute:a.target', 'setAttribute:ol.start']);
});

test('rendering: a refused link is its text', () => {
  const html = serialize(renderRichText('[click](javascript:alert(1)) "><script>x</script>', fakeDocument()));
  assert.equal(html, '<p>[click](javascript:alert(1)) "&gt;&lt;script&gt;x&lt;/script&gt;</p>');
});
