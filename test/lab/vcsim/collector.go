package main

// collector.go gives the PropertyCollector two things vCenter has and vcsim 0.24 lacks
// (intercept.go routes the calls here):
//
//   - Paging. RetrievePropertiesEx honours options.maxObjects: at most that many objects per
//     answer, the rest behind a RetrieveResult.token that ContinueRetrievePropertiesEx reads
//     page by page (the last page has no token) and CancelRetrievePropertiesEx discards. A token
//     is single-use and valid only in the session and on the collector that returned it; any
//     other token is InvalidArgument (invalidProperty "token"). vcsim computes the whole result
//     once; the harness keeps the remainder.
//   - Update versions. WaitForUpdates[Ex] answers carry real versions "1", "2", ... per
//     (session, collector), increasing by one per answer that has changes. Passing the last
//     version waits for the next change; passing an earlier one (a client whose previous answer
//     was lost with its connection) gets again the answer that followed it, so the client
//     resumes exactly after the last change it saw. The last versionLog answers are kept; an
//     unknown, future or forgotten version is InvalidCollectorVersion, as vCenter answers
//     (the client then starts over with version ""). WaitOptions.maxObjectUpdates splits an
//     answer into several of at most that many object updates, all but the last `truncated`,
//     each with its own version: the initial state of a big inventory comes in pages. vcsim answered "-" for every version.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// versionLog is how many WaitForUpdates answers per collector are kept for resumption.
const versionLog = 256

type collectorKey struct{ session, collector string }

type pageKey struct {
	collectorKey
	token string
}

// pending is the rest of a paged result: the <objects> elements of vcsim's answer as sent
// (cut from the XML, not decoded: re-encoding megabytes of ObjectContent costs seconds), the
// answer's text around them and the page size.
type pending struct {
	objs           [][]byte
	prefix, suffix []byte // up to and including <returnval>; from </returnval>
	size           int
}

type collectorState struct {
	latest  int
	answers map[int][]byte // version → the answer that produced it (HTTP body)
	pending chan struct{}  // closed when the wait vcsim is serving ends
}

type collectors struct {
	mu     sync.Mutex
	pages  map[pageKey]pending
	states map[collectorKey]*collectorState
}

func newCollectors() *collectors {
	return &collectors{pages: map[pageKey]pending{}, states: map[collectorKey]*collectorState{}}
}

func keyOf(r *http.Request, c call) collectorKey {
	return collectorKey{session: sessionCookie(r), collector: c.this.Value}
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	objectsOpen  = []byte("<objects>")
	objectsClose = []byte("</objects>")
)

// splitObjects cuts a RetrievePropertiesEx answer into the text before the first <objects>,
// the <objects> elements and the text after the last one (ObjectContent has no element of
// that name inside, so they do not nest).
func splitObjects(b []byte) (p pending, ok bool) {
	i := bytes.Index(b, objectsOpen)
	if i < 0 {
		return p, false
	}
	p.prefix = b[:i]
	for bytes.HasPrefix(b[i:], objectsOpen) {
		j := bytes.Index(b[i:], objectsClose)
		if j < 0 {
			return p, false
		}
		end := i + j + len(objectsClose)
		p.objs = append(p.objs, b[i:end])
		i = end
	}
	p.suffix = b[i:]
	return p, true
}

// page writes the first p.size objects of p (with a new token if more remain, kept for
// ContinueRetrievePropertiesEx) as the answer of method.
func (cs *collectors) page(w http.ResponseWriter, k collectorKey, p pending, method string) {
	objs := p.objs
	var token string
	if len(objs) > p.size {
		token = newToken()
		rest := p
		rest.objs = objs[p.size:]
		cs.mu.Lock()
		cs.pages[pageKey{k, token}] = rest
		cs.mu.Unlock()
		objs = objs[:p.size]
	}
	var out bytes.Buffer
	out.Write(bytes.Replace(p.prefix, []byte("<RetrievePropertiesExResponse"), []byte("<"+method+"Response"), 1))
	if token != "" {
		out.WriteString("<token>" + token + "</token>")
	}
	for _, o := range objs {
		out.Write(o)
	}
	out.Write(bytes.Replace(p.suffix, []byte("</RetrievePropertiesExResponse>"), []byte("</"+method+"Response>"), 1))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(out.Bytes())
}

// retrieveEx serves RetrievePropertiesEx with options.maxObjects; without it vcsim answers as is.
func (v *vcenter) retrieveEx(w http.ResponseWriter, r *http.Request, c call, body []byte) {
	max := maxObjectsRE.FindSubmatch(body)
	size := 0
	if max != nil {
		size, _ = strconv.Atoi(string(max[1]))
	}
	if size <= 0 {
		v.next.ServeHTTP(w, r)
		return
	}
	rec := v.record(r)
	p, ok := splitObjects(rec.Body.Bytes())
	if rec.Code != http.StatusOK || !ok || len(p.objs) <= size {
		copyRecorded(w, rec)
		return
	}
	p.size = size
	v.collectors.page(w, keyOf(r, c), p, "RetrievePropertiesEx")
}

var maxObjectsRE = regexp.MustCompile(`<maxObjects[^>]*>\s*(\d+)\s*</maxObjects>`)

var tokenRE = regexp.MustCompile(`<token[^>]*>([^<]*)</token>`)

func requestToken(body []byte) string {
	m := tokenRE.FindSubmatch(body)
	if m == nil {
		return ""
	}
	var s string
	if xml.Unmarshal([]byte("<v>"+string(m[1])+"</v>"), &s) != nil {
		return string(m[1])
	}
	return s
}

// continueEx serves ContinueRetrievePropertiesEx (next page) and CancelRetrievePropertiesEx.
func (v *vcenter) continueEx(w http.ResponseWriter, r *http.Request, c call, body []byte) {
	k := pageKey{keyOf(r, c), requestToken(body)}
	cs := v.collectors
	cs.mu.Lock()
	rest, ok := cs.pages[k]
	delete(cs.pages, k)
	cs.mu.Unlock()
	if !ok {
		writeMethodFault(w, "A specified parameter was not correct: token", &types.InvalidArgument{InvalidProperty: "token"})
		return
	}
	if c.name == "CancelRetrievePropertiesEx" {
		writeResult(w, &types.CancelRetrievePropertiesExResponse{})
		return
	}
	cs.page(w, k.collectorKey, rest, "ContinueRetrievePropertiesEx")
}

var versionRE = regexp.MustCompile(`<version>[^<]*</version>`)

// waitVersioned serves WaitForUpdatesEx and WaitForUpdates with versions (see the file comment).
func (v *vcenter) waitVersioned(w http.ResponseWriter, r *http.Request, c call, body []byte) {
	k := keyOf(r, c)
	version := requestVersion(c.name, body)
	cs := v.collectors
	var st *collectorState
	var stored []byte
	fault := false
	for {
		cs.mu.Lock()
		st = cs.states[k]
		if st == nil {
			st = &collectorState{answers: map[int][]byte{}}
			cs.states[k] = st
		}
		if pending := st.pending; pending != nil {
			// One wait per collector, as in vCenter: a new call (typically a client that lost
			// its connection and asks again) ends the earlier one first, then is decided on
			// what that one produced.
			cs.mu.Unlock()
			v.cancelWait(r, c.this)
			select {
			case <-pending:
			case <-time.After(2 * time.Second):
			}
			continue
		}
		if version != "" {
			n, err := strconv.Atoi(version)
			switch {
			case err != nil || n < 0 || n > st.latest:
				fault = true
			case n < st.latest:
				if stored = st.answers[n+1]; stored == nil {
					fault = true
				}
			}
		}
		if !fault && stored == nil {
			st.pending = make(chan struct{})
		}
		cs.mu.Unlock()
		break
	}
	if fault {
		writeMethodFault(w, fmt.Sprintf("The collector version %q is invalid", version), &types.InvalidCollectorVersion{})
		return
	}
	if stored != nil {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(stored)
		return
	}
	if version != "" {
		// vcsim only tells "" (initial state) from anything else.
		body = versionRE.ReplaceAll(body, []byte("<version>-</version>"))
		r.Body = nopBody(body)
		r.ContentLength = int64(len(body))
	}
	rec := v.record(r)
	defer func() {
		cs.mu.Lock()
		close(st.pending)
		st.pending = nil
		cs.mu.Unlock()
	}()
	out := rec.Body.Bytes()
	if rec.Code == http.StatusOK && bytes.Contains(out, []byte("<returnval")) {
		parts := [][]byte{out}
		if max := maxObjectUpdates(body); max > 0 {
			parts = splitUpdates(out, max)
		}
		cs.mu.Lock()
		for i, part := range parts {
			st.latest++
			n := st.latest
			parts[i] = versionRE.ReplaceAll(part, []byte("<version>"+strconv.Itoa(n)+"</version>"))
			st.answers[n] = parts[i]
			delete(st.answers, n-versionLog)
		}
		cs.mu.Unlock()
		rec.Body = bytes.NewBuffer(parts[0])
	}
	copyRecorded(w, rec)
}

var maxObjectUpdatesRE = regexp.MustCompile(`<maxObjectUpdates[^>]*>\s*(\d+)\s*</maxObjectUpdates>`)

func maxObjectUpdates(body []byte) int {
	m := maxObjectUpdatesRE.FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// splitUpdates cuts a WaitForUpdatesEx answer into answers of at most max object updates each,
// all but the last marked truncated (WaitOptions.maxObjectUpdates): the client reads the next
// one with the version of the previous, as from vCenter.
func splitUpdates(answer []byte, max int) [][]byte {
	if parts, ok := splitUpdatesText(answer, max); ok {
		return parts
	}
	var env struct {
		Res *types.WaitForUpdatesExResponse `xml:"Body>WaitForUpdatesExResponse"`
	}
	d := xml.NewDecoder(bytes.NewReader(answer))
	d.TypeFunc = types.TypeFunc()
	if err := d.Decode(&env); err != nil || env.Res == nil || env.Res.Returnval == nil {
		return [][]byte{answer}
	}
	var sets []*types.UpdateSet
	cur := &types.UpdateSet{Version: "-"}
	count := 0
	for _, fs := range env.Res.Returnval.FilterSet {
		objs := fs.ObjectSet
		for len(objs) > 0 {
			if count == max {
				sets = append(sets, cur)
				cur = &types.UpdateSet{Version: "-"}
				count = 0
			}
			n := max - count
			if n > len(objs) {
				n = len(objs)
			}
			part := fs
			part.ObjectSet = objs[:n]
			objs = objs[n:]
			if l := len(cur.FilterSet); l > 0 && cur.FilterSet[l-1].Filter == fs.Filter {
				cur.FilterSet[l-1].ObjectSet = append(cur.FilterSet[l-1].ObjectSet, part.ObjectSet...)
			} else {
				cur.FilterSet = append(cur.FilterSet, part)
			}
			count += n
		}
	}
	sets = append(sets, cur)
	if len(sets) == 1 {
		return [][]byte{answer}
	}
	out := make([][]byte, len(sets))
	for i, set := range sets {
		if i < len(sets)-1 {
			set.Truncated = types.NewBool(true)
		}
		rec := httptest.NewRecorder()
		writeResult(rec, &types.WaitForUpdatesExResponse{Returnval: set})
		out[i] = rec.Body.Bytes()
	}
	return out
}

func requestVersion(method string, body []byte) string {
	var env struct {
		Ex  *types.WaitForUpdatesEx `xml:"Body>WaitForUpdatesEx"`
		Old *types.WaitForUpdates   `xml:"Body>WaitForUpdates"`
	}
	_ = xml.Unmarshal(body, &env)
	switch {
	case env.Ex != nil:
		return env.Ex.Version
	case env.Old != nil:
		return env.Old.Version
	}
	return ""
}

var (
	objectSetOpen  = []byte("<objectSet>")
	objectSetClose = []byte("</objectSet>")
	filterSetOpen  = []byte("<filterSet>")
)

// splitUpdatesText is splitUpdates for the common case of one filter, cutting vcsim's XML
// between <objectSet> elements instead of decoding and re-encoding it (seconds for a big
// inventory). ok is false when the answer has several filters.
func splitUpdatesText(answer []byte, max int) ([][]byte, bool) {
	if bytes.Count(answer, filterSetOpen) != 1 {
		return nil, false
	}
	i := bytes.Index(answer, objectSetOpen)
	if i < 0 {
		return nil, false
	}
	prefix := answer[:i]
	var objs [][]byte
	for bytes.HasPrefix(answer[i:], objectSetOpen) {
		j := bytes.Index(answer[i:], objectSetClose)
		if j < 0 {
			return nil, false
		}
		end := i + j + len(objectSetClose)
		objs = append(objs, answer[i:end])
		i = end
	}
	suffix := answer[i:]
	if len(objs) <= max {
		return [][]byte{answer}, true
	}
	truncated := bytes.Replace(suffix, []byte("</returnval>"), []byte("<truncated>true</truncated></returnval>"), 1)
	var parts [][]byte
	for k := 0; k < len(objs); k += max {
		end := k + max
		last := end >= len(objs)
		if last {
			end = len(objs)
		}
		var b bytes.Buffer
		b.Write(prefix)
		for _, o := range objs[k:end] {
			b.Write(o)
		}
		if last {
			b.Write(suffix)
		} else {
			b.Write(truncated)
		}
		parts = append(parts, b.Bytes())
	}
	return parts, true
}

// cancelWait sends CancelWaitForUpdates for collector in the session of r to vcsim.
func (v *vcenter) cancelWait(r *http.Request, collector types.ManagedObjectReference) {
	env := `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="` + nsSoapEnv + `"><soapenv:Body>` +
		`<CancelWaitForUpdates xmlns="urn:vim25"><_this type="PropertyCollector">` + escape(collector.Value) +
		`</_this></CancelWaitForUpdates></soapenv:Body></soapenv:Envelope>`
	inner := httptest.NewRequest(http.MethodPost, "/sdk", strings.NewReader(env))
	inner.Header.Set("Content-Type", "text/xml")
	if ck := r.Header.Get("Cookie"); ck != "" {
		inner.Header.Set("Cookie", ck)
	}
	_ = v.record(inner)
}

func nopBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
