package main

// strict.go validates every SOAP request to the vim25 endpoints against govmomi's type
// definitions before vcsim sees it. vcsim decodes leniently (it ignores unknown and misplaced
// elements and guesses types); a real vCenter refuses such requests, and HDM's own SOAP layer
// must be caught doing them in the lab. The rules, in the order of the XSD that govmomi's
// vim25/types was generated from:
//
//   - the Body holds one element named after a vim25 method (types.<Name> with a
//     <Name>RequestType), in namespace urn:vim25; unknown names get MethodNotFound;
//   - child elements are the struct's fields (xml tag names) in field order, fields of an
//     embedded base type first; a field without omitempty (and not a pointer) is required;
//     only slice fields repeat; no element may go back to an earlier field;
//   - xsi:type is found by the attribute's namespace URI, never by its prefix; its value is a
//     QName (prefix resolved through the in-scope xmlns declarations, "xsd" and unprefixed
//     names accepted as usual) naming a vim25 type or an XML Schema type that fits the
//     field: an interface field takes types implementing it, a struct field the same type or
//     one embedding it; an AnyType field needs xsi:type;
//   - leaf values parse as the field's kind; a ManagedObjectReference has a type attribute
//     and a value.
//
// A violation is answered like vCenter answers a malformed request: HTTP 500, faultcode
// ServerFaultCode and an InvalidRequest fault detail, the faultstring naming the problem.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

const (
	nsSoapEnv = "http://schemas.xmlsoap.org/soap/envelope/"
	nsXSI     = "http://www.w3.org/2001/XMLSchema-instance"
	nsXSD     = "http://www.w3.org/2001/XMLSchema"
	nsVim25   = "urn:vim25"
	nsIntVim  = "urn:internalvim25"
	maxBody   = 64 << 20
)

// strictPaths are the vim25 SOAP endpoints of the simulator.
var strictPaths = map[string]bool{"/sdk": true, "/sdk/vimService": true}

// newStrictHandler returns next behind the request validation. Closing closing ends pending
// WaitForUpdates calls (see waitDetached).
func newStrictHandler(next http.Handler, closing <-chan struct{}) http.Handler {
	v := newSchema(nsVim25, types.TypeFunc())
	v.alt = map[string]*schema{nsIntVim: internalSchema()}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strictPaths[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		_ = r.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > maxBody {
			writeFault(w, &requestError{msg: "Request body too large"})
			return
		}
		method, err := v.validateEnvelope(body)
		if err != nil {
			writeFault(w, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if method == "WaitForUpdatesEx" || method == "WaitForUpdates" {
			waitDetached(w, r, next, closing)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// waitDetached serves a WaitForUpdates call whose handler may outlive the request: vcsim's
// wait loop ignores the client going away and only ends on updates, so it would block the
// server's Close (which waits for all handlers) and keep the lab from stopping. The call runs
// against a recorder; the answer is copied if it comes before the client leaves or the lab
// stops, else the vcsim goroutine is left to finish on its own.
func waitDetached(w http.ResponseWriter, r *http.Request, next http.Handler, closing <-chan struct{}) {
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	inner := r.Clone(context.Background())
	go func() {
		defer close(done)
		next.ServeHTTP(rec, inner)
	}()
	select {
	case <-done:
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	case <-r.Context().Done():
	case <-closing:
		http.Error(w, "simulator stopping", http.StatusServiceUnavailable)
	}
}

// requestError is a malformed request (InvalidRequest fault).
type requestError struct{ msg string }

func (e *requestError) Error() string { return e.msg }

// methodNotFound is a Body element that names no method (MethodNotFound fault).
type methodNotFound struct {
	method   string
	receiver types.ManagedObjectReference
}

func (e *methodNotFound) Error() string { return fmt.Sprintf("Method %q not found", e.method) }

func writeFault(w http.ResponseWriter, err error) {
	var detail string
	switch e := err.(type) {
	case *methodNotFound:
		detail = fmt.Sprintf(`<MethodNotFoundFault xmlns="urn:vim25" xsi:type="MethodNotFound"><receiver type="%s">%s</receiver><method>%s</method></MethodNotFoundFault>`,
			escape(e.receiver.Type), escape(e.receiver.Value), escape(e.method))
	default:
		detail = `<InvalidRequestFault xmlns="urn:vim25" xsi:type="InvalidRequest"></InvalidRequestFault>`
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body>
<soapenv:Fault>
<faultcode>ServerFaultCode</faultcode>
<faultstring>%s</faultstring>
<detail>%s</detail>
</soapenv:Fault>
</soapenv:Body>
</soapenv:Envelope>`, escapeText(err.Error()), detail)
}

// escapeText makes s safe as element text; quotes stay as they are.
func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// escape makes s safe as element text and attribute value, keeping quotes readable.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// schema validates requests of one SOAP namespace against Go types found by typeFunc.
type schema struct {
	ns       string
	typeFunc func(string) (reflect.Type, bool)
	fields   sync.Map           // reflect.Type -> []field
	methods  map[string]bool    // if set, the only methods of this namespace
	alt      map[string]*schema // other request namespaces (urn:internalvim25)
}

func newSchema(ns string, typeFunc func(string) (reflect.Type, bool)) *schema {
	return &schema{ns: ns, typeFunc: typeFunc}
}

// field is one child element of a complex type, in schema order.
type field struct {
	name     string
	typ      reflect.Type // element type: slice and pointer removed
	required bool
	repeated bool
}

var (
	timeType  = reflect.TypeOf(time.Time{})
	bytesType = reflect.TypeOf([]byte(nil))
	morefType = reflect.TypeOf(types.ManagedObjectReference{})
)

// xsdTypes are the XML Schema types a value may name in xsi:type.
var xsdTypes = map[string]reflect.Type{
	"boolean":       reflect.TypeOf(false),
	"byte":          reflect.TypeOf(int8(0)),
	"short":         reflect.TypeOf(int16(0)),
	"int":           reflect.TypeOf(int32(0)),
	"long":          reflect.TypeOf(int64(0)),
	"unsignedByte":  reflect.TypeOf(uint8(0)),
	"unsignedShort": reflect.TypeOf(uint16(0)),
	"unsignedInt":   reflect.TypeOf(uint32(0)),
	"unsignedLong":  reflect.TypeOf(uint64(0)),
	"float":         reflect.TypeOf(float32(0)),
	"double":        reflect.TypeOf(float64(0)),
	"string":        reflect.TypeOf(""),
	"anyURI":        reflect.TypeOf(""),
	"dateTime":      timeType,
	"base64Binary":  bytesType,
}

// fieldsOf flattens struct t into its child elements: embedded base types first.
func (s *schema) fieldsOf(t reflect.Type) []field {
	if f, ok := s.fields.Load(t); ok {
		return f.([]field)
	}
	var out []field
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("xml")
			parts := strings.Split(tag, ",")
			name := parts[0]
			if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
				walk(sf.Type)
				continue
			}
			if tag == "-" || sf.Name == "XMLName" || name == "" || sf.PkgPath != "" {
				continue // attributes, chardata (ManagedObjectReference) and unexported fields
			}
			omitempty := false
			for _, p := range parts[1:] {
				if p == "omitempty" {
					omitempty = true
				}
				if p == "attr" || p == "chardata" {
					name = ""
				}
			}
			if name == "" {
				continue
			}
			f := field{name: name, typ: sf.Type}
			if f.typ.Kind() == reflect.Slice && f.typ != bytesType {
				f.repeated = true
				f.typ = f.typ.Elem()
			}
			f.required = !omitempty && f.typ.Kind() != reflect.Ptr && sf.Type.Kind() != reflect.Ptr
			if f.typ.Kind() == reflect.Ptr {
				f.typ = f.typ.Elem()
			}
			out = append(out, f)
		}
	}
	walk(t)
	s.fields.Store(t, out)
	return out
}

// scanner reads tokens and tracks the in-scope namespace declarations.
type scanner struct {
	d      *xml.Decoder
	scopes []map[string]string // prefix -> URI ("" = default namespace)
}

func (sc *scanner) push(start xml.StartElement) {
	m := map[string]string{}
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "xmlns":
			m[a.Name.Local] = a.Value
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			m[""] = a.Value
		}
	}
	sc.scopes = append(sc.scopes, m)
}

func (sc *scanner) pop() { sc.scopes = sc.scopes[:len(sc.scopes)-1] }

func (sc *scanner) lookup(prefix string) (string, bool) {
	for i := len(sc.scopes) - 1; i >= 0; i-- {
		if uri, ok := sc.scopes[i][prefix]; ok {
			return uri, true
		}
	}
	return "", false
}

// next returns the next start or end element, or an error for text where none may be.
// Character data is returned through text.
func (sc *scanner) next(text *bytes.Buffer) (xml.Token, error) {
	for {
		tok, err := sc.d.Token()
		if err != nil {
			if err == io.EOF {
				return nil, &requestError{msg: "Unexpected end of request"}
			}
			return nil, &requestError{msg: fmt.Sprintf("Malformed XML: %v", err)}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			sc.push(t)
			return t, nil
		case xml.EndElement:
			sc.pop()
			return t, nil
		case xml.CharData:
			if text != nil {
				text.Write(t)
			}
		}
	}
}

func (sc *scanner) where() string {
	line, col := sc.d.InputPos()
	return fmt.Sprintf("at line %d, column %d", line, col)
}

func (sc *scanner) fail(format string, args ...interface{}) error {
	return &requestError{msg: fmt.Sprintf(format, args...) + " " + sc.where()}
}

// validateEnvelope checks the whole request and returns its method name.
func (s *schema) validateEnvelope(body []byte) (method string, err error) {
	err = s.envelope(body, &method)
	return method, err
}

func (s *schema) envelope(body []byte, method *string) error {
	sc := &scanner{d: xml.NewDecoder(bytes.NewReader(body))}
	var text bytes.Buffer
	tok, err := sc.next(&text)
	if err != nil {
		return err
	}
	env, ok := tok.(xml.StartElement)
	if !ok || env.Name.Space != nsSoapEnv || env.Name.Local != "Envelope" {
		return sc.fail("Expected a SOAP Envelope element")
	}
	sawBody := false
	for {
		tok, err := sc.next(&text)
		if err != nil {
			return err
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
		el := tok.(xml.StartElement)
		switch {
		case el.Name.Space == nsSoapEnv && el.Name.Local == "Header" && !sawBody:
			if err := sc.d.Skip(); err != nil {
				return &requestError{msg: fmt.Sprintf("Malformed XML: %v", err)}
			}
			sc.pop()
		case el.Name.Space == nsSoapEnv && el.Name.Local == "Body" && !sawBody:
			sawBody = true
			if err := s.validateBody(sc, method); err != nil {
				return err
			}
		default:
			return sc.fail("Unexpected element tag %q seen in the SOAP Envelope", el.Name.Local)
		}
	}
	if !sawBody {
		return sc.fail("SOAP Body missing")
	}
	if strings.TrimSpace(text.String()) != "" {
		return sc.fail("Unexpected text in the SOAP Envelope")
	}
	return nil
}

func (s *schema) validateBody(sc *scanner, name *string) error {
	var text bytes.Buffer
	tok, err := sc.next(&text)
	if err != nil {
		return err
	}
	method, ok := tok.(xml.StartElement)
	if !ok {
		return sc.fail("SOAP Body is empty")
	}
	*name = method.Name.Local
	sch := s
	if method.Name.Space != s.ns && s.alt[method.Name.Space] != nil {
		sch = s.alt[method.Name.Space] // e.g. DisableMethods in urn:internalvim25
	}
	reqType, isMethod := sch.method(method.Name.Local)
	if method.Name.Space != sch.ns || !isMethod {
		return &methodNotFound{method: method.Name.Local, receiver: peekThis(sc)}
	}
	if err := sch.complex(sc, method, reqType); err != nil {
		return err
	}
	tok, err = sc.next(&text)
	if err != nil {
		return err
	}
	if el, ok := tok.(xml.StartElement); ok {
		return sc.fail("Unexpected element tag %q seen after %q in the SOAP Body", el.Name.Local, method.Name.Local)
	}
	if strings.TrimSpace(text.String()) != "" {
		return sc.fail("Unexpected text in the SOAP Body")
	}
	return nil
}

// peekThis reads the _this of an unknown method, for the MethodNotFound fault.
func peekThis(sc *scanner) types.ManagedObjectReference {
	var ref types.ManagedObjectReference
	for depth := 1; depth > 0; {
		tok, err := sc.d.Token()
		if err != nil {
			return ref
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Local == "_this" {
				for _, a := range t.Attr {
					if a.Name.Local == "type" {
						ref.Type = a.Value
					}
				}
				var v string
				if sc.d.DecodeElement(&v, &t) == nil {
					ref.Value = strings.TrimSpace(v)
				}
				depth--
			}
		case xml.EndElement:
			depth--
		}
	}
	return ref
}

// method returns the request type of a vim25 method name.
func (s *schema) method(name string) (reflect.Type, bool) {
	if s.methods != nil && !s.methods[name] {
		return nil, false
	}
	t, ok := s.typeFunc(name)
	if !ok || t.Kind() != reflect.Struct {
		return nil, false
	}
	// Request types are named after the method, "_Task" dropped: PowerOnVM_Task has a
	// PowerOnVMRequestType. Data types have no RequestType.
	if _, ok := s.typeFunc(name + "RequestType"); ok {
		return t, true
	}
	if _, ok := s.typeFunc(strings.TrimSuffix(name, "_Task") + "RequestType"); ok && strings.HasSuffix(name, "_Task") {
		return t, true
	}
	return nil, false
}

// complex checks the children of start (already read) against struct type t, up to and
// including start's end element.
func (s *schema) complex(sc *scanner, start xml.StartElement, t reflect.Type) error {
	fields := s.fieldsOf(t)
	last := -1
	var text bytes.Buffer
	for {
		tok, err := sc.next(&text)
		if err != nil {
			return err
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
		el := tok.(xml.StartElement)
		name := el.Name.Local
		if el.Name.Space != s.ns {
			return sc.fail("Unknown element %q (namespace %q) in %s", name, el.Name.Space, t.Name())
		}
		j := -1
		from := last
		if from < 0 {
			from = 0
		}
		for k := from; k < len(fields); k++ {
			if fields[k].name == name {
				j = k
				break
			}
		}
		if j < 0 {
			for k := 0; k < last; k++ {
				if fields[k].name == name {
					return sc.fail("Unexpected element tag %q seen; it must come before %q in %s", name, fields[last].name, t.Name())
				}
			}
			return sc.fail("Unknown element %q in %s", name, t.Name())
		}
		if j == last && !fields[j].repeated {
			return sc.fail("Unexpected element tag %q seen; %q may occur only once in %s", name, name, t.Name())
		}
		for k := last + 1; k < j; k++ {
			if fields[k].required {
				return sc.fail("Unexpected element tag %q seen; expected %q in %s", name, fields[k].name, t.Name())
			}
		}
		last = j
		if err := s.value(sc, el, fields[j]); err != nil {
			return err
		}
	}
	for k := last + 1; k < len(fields); k++ {
		if fields[k].required {
			return sc.fail("Required element %q missing in %s", fields[k].name, t.Name())
		}
	}
	if strings.TrimSpace(text.String()) != "" {
		return sc.fail("Unexpected text in %s", t.Name())
	}
	return nil
}

// value checks one element for field f, up to and including its end element.
func (s *schema) value(sc *scanner, el xml.StartElement, f field) error {
	declared := f.typ
	actual := declared
	var xsiType string
	for _, a := range el.Attr {
		if a.Name.Space == nsXSI && a.Name.Local == "nil" && (a.Value == "true" || a.Value == "1") {
			return s.empty(sc, el.Name.Local)
		}
		if a.Name.Space == nsXSI && a.Name.Local == "type" {
			xsiType = a.Value
		}
	}
	if xsiType != "" {
		t, err := s.resolveType(sc, xsiType)
		if err != nil {
			return err
		}
		if !assignable(t, declared) {
			return sc.fail("Type %q in xsi:type is not valid for element %q of type %s", xsiType, el.Name.Local, typeName(declared))
		}
		actual = t
	} else if declared.Kind() == reflect.Interface {
		if declared.NumMethod() == 0 {
			return sc.fail("Element %q holds a value of any type and needs xsi:type", el.Name.Local)
		}
		base, ok := s.typeFunc(strings.TrimPrefix(declared.Name(), "Base"))
		if !ok {
			return sc.fail("Element %q needs xsi:type", el.Name.Local)
		}
		actual = base
	}

	switch {
	case actual == morefType:
		var typ string
		for _, a := range el.Attr {
			if a.Name.Space == "" && a.Name.Local == "type" {
				typ = a.Value
			}
		}
		if typ == "" {
			return sc.fail("Managed object reference %q has no type attribute", el.Name.Local)
		}
		v, err := s.leafText(sc, el.Name.Local)
		if err != nil {
			return err
		}
		if strings.TrimSpace(v) == "" {
			return sc.fail("Managed object reference %q has no value", el.Name.Local)
		}
		return nil
	case actual.Kind() == reflect.Struct && actual != timeType:
		return s.complex(sc, el, actual)
	}
	v, err := s.leafText(sc, el.Name.Local)
	if err != nil {
		return err
	}
	if kind, ok := parseLeaf(v, actual); !ok {
		return sc.fail("Cannot parse %q as %s for %q", v, kind, el.Name.Local)
	}
	return nil
}

// empty reads an element that must have no content.
func (s *schema) empty(sc *scanner, name string) error {
	v, err := s.leafText(sc, name)
	if err != nil {
		return err
	}
	if strings.TrimSpace(v) != "" {
		return sc.fail("Element %q is nil but has a value", name)
	}
	return nil
}

// leafText reads the text of an element that may not have child elements.
func (s *schema) leafText(sc *scanner, name string) (string, error) {
	var text bytes.Buffer
	tok, err := sc.next(&text)
	if err != nil {
		return "", err
	}
	if el, ok := tok.(xml.StartElement); ok {
		return "", sc.fail("Unexpected element tag %q seen inside %q, which holds a simple value", el.Name.Local, name)
	}
	return text.String(), nil
}

// resolveType maps an xsi:type QName to a Go type.
func (s *schema) resolveType(sc *scanner, qname string) (reflect.Type, error) {
	prefix, local := "", qname
	if i := strings.IndexByte(qname, ':'); i >= 0 {
		prefix, local = qname[:i], qname[i+1:]
	}
	uri, ok := sc.lookup(prefix)
	if !ok {
		switch prefix {
		case "", "vim25":
			uri = s.ns // unprefixed names without a default namespace: the request's types
		case "xsd":
			uri = nsXSD
		default:
			return nil, sc.fail("Undeclared namespace prefix %q in xsi:type %q", prefix, qname)
		}
	}
	switch uri {
	case nsXSD:
		if t, ok := xsdTypes[local]; ok {
			return t, nil
		}
	case s.ns:
		if t, ok := s.typeFunc(local); ok {
			return t, nil
		}
	default:
		return nil, sc.fail("Unknown type %q: namespace %q is not %q", qname, uri, s.ns)
	}
	return nil, sc.fail("Unknown type %q in xsi:type", qname)
}

// assignable reports whether a value of type t may stand where declared is expected.
func assignable(t, declared reflect.Type) bool {
	switch declared.Kind() {
	case reflect.Interface:
		return declared.NumMethod() == 0 || t.Implements(declared) || reflect.PtrTo(t).Implements(declared)
	case reflect.Struct:
		for {
			if t == declared {
				return true
			}
			if t.Kind() != reflect.Struct || t.NumField() == 0 || !t.Field(0).Anonymous {
				return false
			}
			t = t.Field(0).Type
		}
	case reflect.Slice:
		return t == declared
	default:
		return t.Kind() == declared.Kind()
	}
}

func typeName(t reflect.Type) string {
	if t.Name() != "" {
		return t.Name()
	}
	return t.String()
}

// parseLeaf checks v as a value of t; it returns the XML Schema name of t's kind.
func parseLeaf(v string, t reflect.Type) (string, bool) {
	s := strings.TrimSpace(v)
	switch {
	case t == timeType:
		return "dateTime", parseDateTime(s)
	case t == bytesType:
		_, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		return "base64Binary", err == nil
	}
	switch t.Kind() {
	case reflect.String:
		return "string", true
	case reflect.Bool:
		return "boolean", s == "true" || s == "false" || s == "1" || s == "0"
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		_, err := strconv.ParseInt(s, 10, t.Bits())
		return kindNames[t.Kind()], err == nil
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		_, err := strconv.ParseUint(s, 10, t.Bits())
		return kindNames[t.Kind()], err == nil
	case reflect.Float32, reflect.Float64:
		name := map[reflect.Kind]string{reflect.Float32: "float", reflect.Float64: "double"}[t.Kind()]
		switch s {
		case "INF", "-INF", "NaN":
			return name, true
		}
		f, err := strconv.ParseFloat(s, t.Bits())
		return name, err == nil && !math.IsInf(f, 0)
	}
	return t.String(), false
}

// kindNames are the XML Schema names of Go's integer kinds.
var kindNames = map[reflect.Kind]string{
	reflect.Int8: "byte", reflect.Int16: "short", reflect.Int32: "int", reflect.Int64: "long", reflect.Int: "long",
	reflect.Uint8: "unsignedByte", reflect.Uint16: "unsignedShort", reflect.Uint32: "unsignedInt",
	reflect.Uint64: "unsignedLong", reflect.Uint: "unsignedLong",
}

// parseDateTime accepts xsd:dateTime: optional fraction, optional zone.
func parseDateTime(s string) bool {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05Z0700"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}
