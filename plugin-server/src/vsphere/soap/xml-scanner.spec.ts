import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { scanXml, XmlScanError } from './xml-scanner';

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const scan = (xml: string) => scanXml(xml, XSI, (uri, local) => (uri === 'http://www.w3.org/2001/XMLSchema' ? `xsd:${local}` : local));

describe('scanXml', () => {
  it('namespaces: default, prefixed, redeclared per element, xml: prefix', () => {
    const t = scan(`<?xml version="1.0"?><e:Env xmlns:e="urn:env" xmlns="urn:a"><b x="1" xml:lang="en"><c xmlns="urn:c"/><e:d/></b></e:Env>`);
    assert.equal(t.local, 'Env');
    assert.equal(t.uri, 'urn:env');
    const b = t.children[0];
    assert.equal(b.uri, 'urn:a');
    assert.deepEqual(b.attrs, { x: '1' }, 'namespaced attributes are not kept');
    assert.deepEqual(b.children.map((c) => [c.local, c.uri]), [['c', 'urn:c'], ['d', 'urn:env']]);
  });

  it('xsi:type by namespace URI whatever the prefixes, declared on the element itself', () => {
    const t = scan(`<r xmlns:xsd="http://www.w3.org/2001/XMLSchema"><v xmlns:X="${XSI}" X:type="xsd:string">s</v>` +
      `<w xmlns:i="${XSI}" xmlns:v="urn:vim25" i:type="v:VirtualDisk"/><u type="plain"/></r>`);
    assert.equal(t.children[0].xsiType, 'xsd:string');
    assert.equal(t.children[1].xsiType, 'VirtualDisk');
    assert.equal(t.children[2].xsiType, undefined);
    assert.deepEqual(t.children[2].attrs, { type: 'plain' });
  });

  it('text: entities, character references, CDATA, comments, both quote styles', () => {
    const t = scan(`<r a='x&quot;y' b="&lt;&#65;&#x42;&apos;"><!-- c -->1 &amp; 2<![CDATA[<raw&>]]>&#x1F600;</r>`);
    assert.equal(t.attrs.a, 'x"y');
    assert.equal(t.attrs.b, "<AB'");
    assert.equal(t.text, '1 & 2<raw&>😀');
  });

  it('refuses malformed documents', () => {
    for (const bad of [
      '<a><b></a></b>', '<a>', '<a></a><b></b>', 'x<a/>', '<a b=1/>', '<a b="1/>', '<a>&foo;</a>', '<a>& </a>',
      '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', '<p:a/>', '<a p:b="1"/>', '', '<a b="<"/>',
    ]) {
      assert.throws(() => scan(bad), XmlScanError, bad);
    }
  });
});
