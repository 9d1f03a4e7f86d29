package main

// soap.go writes SOAP answers for the calls the harness serves itself (intercept.go) in
// exactly vcsim's wire format: the same envelope (soapenv/soapenc/xsd/xsi declared), results
// as <XResponse xmlns="urn:vim25">, faults as <XFault xmlns="urn:vim25" xsi:type="X"> in
// <detail>, encoded with govmomi's vim25/xml (which writes xsi:type for polymorphic values).

import (
	"bytes"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"

	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// envelope is vcsim's soapEnvelope.
type envelope struct {
	XMLName xml.Name    `xml:"soapenv:Envelope"`
	Enc     string      `xml:"xmlns:soapenc,attr"`
	Env     string      `xml:"xmlns:soapenv,attr"`
	XSD     string      `xml:"xmlns:xsd,attr"`
	XSI     string      `xml:"xmlns:xsi,attr"`
	Body    interface{} `xml:"soapenv:Body"`
}

type faultBody struct {
	Fault *soapFault
}

type soapFault struct {
	XMLName xml.Name `xml:"soapenv:Fault"`
	Code    string   `xml:"faultcode"`
	String  string   `xml:"faultstring"`
	Detail  struct {
		Fault *faultDetail
	} `xml:"detail"`
}

// faultDetail renames its element to "<Type>Fault" and tags it with xsi:type, as vcsim does.
type faultDetail struct {
	Fault types.BaseMethodFault
}

func (d *faultDetail) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	kind := reflect.TypeOf(d.Fault).Elem().Name()
	start.Name.Local = kind + "Fault"
	start.Attr = append(start.Attr,
		xml.Attr{Name: xml.Name{Local: "xmlns"}, Value: nsVim25},
		xml.Attr{Name: xml.Name{Local: "xsi:type"}, Value: kind})
	return e.EncodeElement(d.Fault, start)
}

// result is the Body of a successful answer: res encoded as <TypeName xmlns=ns>.
type result struct {
	ns  string
	res interface{}
}

func (r *result) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	name := reflect.TypeOf(r.res).Elem().Name()
	if err := e.EncodeElement(r.res, xml.StartElement{Name: xml.Name{Space: r.ns, Local: name}}); err != nil {
		return err
	}
	return e.EncodeToken(start.End())
}

func writeEnvelope(w http.ResponseWriter, status int, body interface{}) {
	var out bytes.Buffer
	out.WriteString(xml.Header)
	e := xml.NewEncoder(&out)
	err := e.Encode(&envelope{
		Enc: "http://schemas.xmlsoap.org/soap/encoding/", Env: nsSoapEnv, XSD: nsXSD, XSI: nsXSI, Body: body,
	})
	if err == nil {
		err = e.Flush()
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("encoding response: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(out.Bytes())
}

// writeResult answers a call with res (a pointer to a types.<Method>Response).
func writeResult(w http.ResponseWriter, res interface{}) {
	writeEnvelope(w, http.StatusOK, &result{ns: nsVim25, res: res})
}

// writeMethodFault answers a call with a vim25 fault: HTTP 500, faultcode ServerFaultCode.
func writeMethodFault(w http.ResponseWriter, msg string, fault types.BaseMethodFault) {
	f := &soapFault{Code: "ServerFaultCode", String: msg}
	f.Detail.Fault = &faultDetail{Fault: fault}
	writeEnvelope(w, http.StatusInternalServerError, &faultBody{Fault: f})
}

// call is what the harness needs to know of a request before deciding who answers it.
type call struct {
	ns, name string
	this     types.ManagedObjectReference
}

// parseCall reads the method element of a SOAP request and its _this.
func parseCall(body []byte) (call, bool) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var c call
	depth := 0
	inBody := false
	for {
		tok, err := d.Token()
		if err != nil {
			return c, c.name != ""
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 2 && t.Name.Local == "Body":
				inBody = true
			case depth == 3 && inBody:
				c.ns, c.name = t.Name.Space, t.Name.Local
			case depth == 4 && inBody && t.Name.Local == "_this":
				for _, a := range t.Attr {
					if a.Name.Local == "type" {
						c.this.Type = a.Value
					}
				}
				var v string
				if d.DecodeElement(&v, &t) == nil {
					c.this.Value = strings.TrimSpace(v)
				}
				return c, true
			}
		case xml.EndElement:
			depth--
		}
	}
}

var returnvalRE = regexp.MustCompile(`<returnval[^>]*>([^<]*)</returnval>`)

// returnval is the text of the first returnval element of a response ("" if none).
func returnval(body []byte) string {
	m := returnvalRE.FindSubmatch(body)
	if m == nil {
		return ""
	}
	var s string
	if err := xml.Unmarshal([]byte("<v>"+string(m[1])+"</v>"), &s); err != nil {
		return string(m[1])
	}
	return s
}
