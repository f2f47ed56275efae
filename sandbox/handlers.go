package sandbox

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/filterexpr"
)

const (
	// maxJSONBody bounds create and PATCH bodies; PATCH can carry whole XML documents.
	maxJSONBody = 64 << 20
	// maxUpload bounds one multipart PUT.
	maxUpload = 64 << 20
	// maxLimit is the spec's maximum page size.
	maxLimit = 250
)

func (t *Tenant) serveOp(w http.ResponseWriter, r *http.Request, rt routed) {
	switch rt.op {
	case opList:
		t.serveList(w, r)
	case opCreate:
		t.serveCreate(w, r)
	case opGet:
		t.serveDetail(w, r, rt.scriptName)
	case opDelete:
		t.serveDelete(w, rt.scriptName)
	case opPatch:
		t.servePatch(w, r, rt.scriptName)
	case opGetSourceConfig, opGetSourceTemplate, opGetCorrelation:
		t.serveGetDoc(w, rt.scriptName, docForOp[rt.op])
	case opPutSourceConfig, opPutSourceTemplate, opPutCorrelation:
		t.servePutDoc(w, r, rt.scriptName, docForOp[rt.op])
	case opGetTranslations:
		t.serveGetTranslation(w, rt.scriptName, rt.locale)
	case opPutTranslations:
		t.servePutTranslation(w, r, rt.scriptName, rt.locale)
	}
}

func (t *Tenant) serveList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset := maxLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxLimit {
			badRequest(w, fmt.Sprintf("limit must be an integer from 0 to %d, not %q", maxLimit, v))
			return
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			badRequest(w, fmt.Sprintf("offset must be a non-negative integer, not %q", v))
			return
		}
		offset = n
	}
	count := false
	if v := q.Get("count"); v != "" {
		switch v {
		case "true":
			count = true
		case "false":
		default:
			badRequest(w, fmt.Sprintf("count must be true or false, not %q", v))
			return
		}
	}
	if v, ok := q["locale"]; ok && !validLocale(v[0]) {
		badRequest(w, fmt.Sprintf("locale %q is not one of %s", v[0], strings.Join(localeEnum, ", ")))
		return
	}
	f, err := filterexpr.Parse(q.Get("filters"))
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	all := t.store.list(f)
	if count {
		w.Header().Set(headerTotalCount, strconv.Itoa(len(all)))
	}
	page := []apiclient.V3ConnectorDto{}
	for i := offset; i < len(all) && i < offset+limit; i++ {
		page = append(page, dto(&all[i]))
	}
	writeJSON(w, http.StatusOK, page)
}

func dto(r *record) apiclient.V3ConnectorDto {
	cn := r.className
	return apiclient.V3ConnectorDto{
		Name: r.name, Type: r.typ, ScriptName: r.scriptName, ClassName: &cn,
		Features: slices.Clone(r.features), DirectConnect: r.directConnect,
		ConnectorMetadata: r.metadata, Status: r.status,
	}
}

// mediaType is the request's content type without parameters, lower-cased.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

func readJSONBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		return fmt.Errorf("cannot read the request body: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("the request body is not valid JSON of the expected shape: %w", err)
	}
	if d.More() {
		return errors.New("the request body holds more than one JSON value")
	}
	return nil
}

func (t *Tenant) serveCreate(w http.ResponseWriter, r *http.Request) {
	if mt := mediaType(r); mt != "application/json" {
		badRequest(w, fmt.Sprintf("Content-Type must be application/json, not %q", r.Header.Get("Content-Type")))
		return
	}
	var in apiclient.V3CreateConnectorDto
	if err := readJSONBody(w, r, &in); err != nil {
		badRequest(w, err.Error())
		return
	}
	t.stats.create(in.Name)
	rec, err := t.store.create(in)
	if err != nil {
		badRequest(w, strings.TrimPrefix(err.Error(), errBadInput.Error()+": "))
		return
	}
	writeJSON(w, http.StatusOK, dto(&rec))
}

func (t *Tenant) serveDetail(w http.ResponseWriter, r *http.Request, scriptName string) {
	if v, ok := r.URL.Query()["locale"]; ok && !validLocale(v[0]) {
		badRequest(w, fmt.Sprintf("locale %q is not one of %s", v[0], strings.Join(localeEnum, ", ")))
		return
	}
	rec, ok := t.store.snapshot(scriptName)
	if !ok {
		connectorNotFound(w, scriptName)
		return
	}
	writeJSON(w, http.StatusOK, t.store.detail(&rec))
}

func connectorNotFound(w http.ResponseWriter, scriptName string) {
	notFound(w, fmt.Sprintf("connector %q not found", scriptName))
}

// detail builds ConnectorDetail; see the package comment for the
// server-managed fields.
func (s *store) detail(r *record) apiclient.ConnectorDetail {
	d := apiclient.ConnectorDetail{
		Name: r.name, Type: r.typ, ClassName: r.className, ScriptName: r.scriptName,
		ApplicationXML:       string(s.doc(r, docApplication)),
		CorrelationConfigXML: string(s.doc(r, docCorrelation)),
		S3Location:           s.s3Location(r.scriptName),
		DirectConnect:        r.directConnect,
		ConnectorMetadata:    r.metadata,
		Status:               r.status,
	}
	if sc := s.doc(r, docSourceConfig); sc != nil {
		text := string(sc)
		from := "sp-connect"
		d.SourceConfigXML, d.SourceConfig, d.SourceConfigFrom = text, &text, &from
		d.FileUpload = rootAttr(sc, "fileUpload") == "true"
	}
	if d.FileUpload {
		d.UploadedFiles = []string{d.S3Location + "/" + r.scriptName + ".jar"}
	}
	tr := s.translations(r)
	if len(tr) > 0 {
		d.TranslationProperties = make(map[string]string, len(tr))
		for l, v := range tr {
			d.TranslationProperties[l] = string(v)
		}
	}
	return d
}

// rootAttr returns an attribute of the root element, "" if absent or the
// document cannot be read that far.
func rootAttr(doc []byte, name string) string {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = false
	d.CharsetReader = charsetReader
	for {
		tok, err := d.RawToken()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Local == name {
					return a.Value
				}
			}
			return ""
		}
	}
}

func (t *Tenant) serveDelete(w http.ResponseWriter, scriptName string) {
	if err := t.store.delete(scriptName, false); err != nil {
		t.storeError(w, scriptName, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (t *Tenant) storeError(w http.ResponseWriter, scriptName string, err error) {
	if errors.Is(err, errNotFound) {
		connectorNotFound(w, scriptName)
		return
	}
	badRequest(w, strings.TrimPrefix(err.Error(), errBadInput.Error()+": "))
}

func (t *Tenant) servePatch(w http.ResponseWriter, r *http.Request, scriptName string) {
	if mt := mediaType(r); mt != contentTypeJSONPatch {
		badRequest(w, fmt.Sprintf("Content-Type must be %s, not %q", contentTypeJSONPatch, r.Header.Get("Content-Type")))
		return
	}
	var ops []patchOp
	if err := readJSONBody(w, r, &ops); err != nil {
		badRequest(w, err.Error())
		return
	}
	rec, err := t.store.update(scriptName, func(rec *record) error {
		if err := t.store.applyPatch(rec, ops); err != nil {
			return fmt.Errorf("%w: %w", errBadInput, err)
		}
		return nil
	})
	if err != nil {
		t.storeError(w, scriptName, err)
		return
	}
	writeJSON(w, http.StatusOK, t.store.detail(&rec))
}

func (t *Tenant) serveGetDoc(w http.ResponseWriter, scriptName string, k docKind) {
	rec, ok := t.store.snapshot(scriptName)
	if !ok {
		connectorNotFound(w, scriptName)
		return
	}
	data := t.store.doc(&rec, k)
	if data == nil {
		notFound(w, fmt.Sprintf("connector %q has no %s", scriptName, docNames[k]))
		return
	}
	writeBytes(w, contentTypeXML, data)
}

func writeBytes(w http.ResponseWriter, ct string, data []byte) {
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// uploadPart reads a multipart body and returns the part named "file", or,
// when anyPart is set (translations, whose part name is undocumented), the
// only part there is.
func uploadPart(w http.ResponseWriter, r *http.Request, anyPart bool) ([]byte, error) {
	if mt := mediaType(r); mt != "multipart/form-data" {
		return nil, fmt.Errorf("Content-Type must be multipart/form-data, not %q", r.Header.Get("Content-Type"))
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("cannot read the multipart body: %w", err)
	}
	var named []byte
	var parts [][]byte
	found := false
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read the multipart body: %w", err)
		}
		data, err := io.ReadAll(io.LimitReader(p, maxUpload+1))
		if err != nil {
			return nil, fmt.Errorf("cannot read multipart part %q: %w", p.FormName(), err)
		}
		if len(data) > maxUpload {
			return nil, fmt.Errorf("multipart part %q is larger than %d bytes", p.FormName(), maxUpload)
		}
		if p.FormName() == "file" && !found {
			named, found = data, true
		}
		parts = append(parts, data)
	}
	switch {
	case found:
		return named, nil
	case anyPart && len(parts) == 1:
		return parts[0], nil
	case anyPart:
		return nil, fmt.Errorf("the multipart body must hold one file part (preferably named \"file\"); it holds %d parts", len(parts))
	default:
		return nil, errors.New("the multipart body has no part named \"file\"")
	}
}

func (t *Tenant) servePutDoc(w http.ResponseWriter, r *http.Request, scriptName string, k docKind) {
	if _, ok := t.store.snapshot(scriptName); !ok {
		connectorNotFound(w, scriptName)
		return
	}
	data, err := uploadPart(w, r, false)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	if err := checkWellFormed(data); err != nil {
		writeJSON(w, http.StatusOK, apiclient.UpdateDetail{
			Message:    fmt.Sprintf("%s is not well-formed XML: %v", docNames[k], err),
			ScriptName: scriptName,
			Status:     apiclient.UpdateError,
		})
		return
	}
	changed, err := t.store.putDoc(scriptName, k, data)
	if err != nil {
		t.storeError(w, scriptName, err)
		return
	}
	writeJSON(w, http.StatusOK, t.updateDetail(scriptName, docNames[k]+".xml", changed))
}

func (t *Tenant) updateDetail(scriptName, file string, changed bool) apiclient.UpdateDetail {
	if !changed {
		return apiclient.UpdateDetail{Message: file + " is unchanged", ScriptName: scriptName, Status: apiclient.UpdateUnchanged}
	}
	return apiclient.UpdateDetail{
		Message:      file + " updated",
		ScriptName:   scriptName,
		UpdatedFiles: []string{t.store.s3Location(scriptName) + "/" + file},
		Status:       apiclient.UpdateUpdated,
	}
}

func (t *Tenant) serveGetTranslation(w http.ResponseWriter, scriptName, locale string) {
	if !validLocale(locale) {
		badRequest(w, fmt.Sprintf("locale %q is not one of %s", locale, strings.Join(localeEnum, ", ")))
		return
	}
	rec, ok := t.store.snapshot(scriptName)
	if !ok {
		connectorNotFound(w, scriptName)
		return
	}
	data, ok := t.store.translation(&rec, locale)
	if !ok {
		notFound(w, fmt.Sprintf("connector %q has no %s translations", scriptName, locale))
		return
	}
	writeBytes(w, contentTypeText, data)
}

func (t *Tenant) servePutTranslation(w http.ResponseWriter, r *http.Request, scriptName, locale string) {
	if !validLocale(locale) {
		badRequest(w, fmt.Sprintf("locale %q is not one of %s", locale, strings.Join(localeEnum, ", ")))
		return
	}
	if _, ok := t.store.snapshot(scriptName); !ok {
		connectorNotFound(w, scriptName)
		return
	}
	data, err := uploadPart(w, r, true)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	changed, err := t.store.putTranslation(scriptName, locale, data)
	if err != nil {
		t.storeError(w, scriptName, err)
		return
	}
	writeJSON(w, http.StatusOK, t.updateDetail(scriptName, "translations/"+locale+".properties", changed))
}
