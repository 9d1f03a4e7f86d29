/**
 * Property-based fuzzing of the SOAP response scanner: it reads what a network peer sends.
 * Random documents round-trip; random garbage and mutations never crash it with anything
 * but XmlScanError, never hang, and never yield a tree that contradicts the input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { scanXml, ScannedNode, XmlScanError } from './xml-scanner';

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const scan = (xml: string) => scanXml(xml, XSI, (_uri, local) => local);

interface Tree {
  name: string;
  text: string;
  attrs: Record<string, string>;
  children: Tree[];
}

const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.-]{0,8}$/);
const text = fc.string({ maxLength: 12 });
const attrs = fc.dictionary(name.filter((n) => !n.startsWith('xml')), text, { maxKeys: 3 });
function treeOfDepth(depth: number): fc.Arbitrary<Tree> {
  const children = depth === 0 ? fc.constant([] as Tree[]) : fc.array(treeOfDepth(depth - 1), { maxLength: 3 });
  return fc.record({ name, text, attrs, children });
}
const tree = treeOfDepth(3);

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
// XML 1.0 cannot carry most control characters; the generator stays within what a server can send.
const legal = (s: string) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDFFF]/.test(s) && !/\r/.test(s);

function render(t: Tree): string {
  const attrs = Object.entries(t.attrs).map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
  // Mixed content is not SOAP: a node has text or children.
  const body = t.children.length ? t.children.map(render).join('') : esc(t.text);
  return `<${t.name}${attrs}>${body}</${t.name}>`;
}

function allLegal(t: Tree): boolean {
  return legal(t.text) && Object.values(t.attrs).every(legal) && t.children.every(allLegal);
}

function same(t: Tree, n: ScannedNode): void {
  assert.equal(n.local, t.name);
  for (const [k, v] of Object.entries(t.attrs)) assert.equal(n.attrs[k], v);
  assert.equal(n.children.length, t.children.length);
  if (t.children.length === 0) assert.equal(n.text, t.text);
  t.children.forEach((c, i) => same(c, n.children[i]!));
}

test('random documents round-trip through the scanner', () => {
  fc.assert(
    fc.property(tree.filter(allLegal), (t) => {
      same(t, scan(render(t)));
    }),
    { numRuns: 300 },
  );
});

test('random input never throws anything but XmlScanError', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      try {
        scan(s);
      } catch (e) {
        assert.ok(e instanceof XmlScanError, `${(e as Error).name}: ${(e as Error).message}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test('mutated valid documents are either refused with XmlScanError or scanned', () => {
  fc.assert(
    fc.property(tree.filter(allLegal), fc.nat(), fc.constantFrom('<', '>', '&', '"', '/', '=', ' ', '!', '?', ']]>', '<![CDATA['), fc.boolean(), (t, pos, ch, del) => {
      const doc = render(t);
      const at = pos % (doc.length + 1);
      const mutated = del ? doc.slice(0, at) + doc.slice(at + 1) : doc.slice(0, at) + ch + doc.slice(at);
      try {
        const n = scan(mutated);
        assert.ok(typeof n.local === 'string' && n.local.length > 0);
      } catch (e) {
        assert.ok(e instanceof XmlScanError, `${(e as Error).name}: ${(e as Error).message} for ${JSON.stringify(mutated)}`);
      }
    }),
    { numRuns: 1500 },
  );
});

test('deep nesting is refused or scanned without blowing the stack', () => {
  for (const depth of [1_000, 100_000]) {
    const doc = '<a>'.repeat(depth) + '</a>'.repeat(depth);
    try {
      scan(doc);
    } catch (e) {
      assert.ok(e instanceof XmlScanError, `${(e as Error).name} at depth ${depth}`);
    }
  }
});
