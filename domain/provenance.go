package domain

// Values of Meta.Fetch: how an export read the documents.
const (
	// FetchFull reads every document from its own sub-resource
	// (GET .../source-config, .../correlation-config, .../translations/{locale}).
	FetchFull = "full"
	// FetchFromDetail reads the source template from its sub-resource and
	// takes source-config, correlation-config and the translations from
	// the connector's detail (sourceConfigXml, correlationConfigXml,
	// translationProperties).
	FetchFromDetail = "from-detail"
)

// Values of DocumentSource.From.
const (
	FromDetail      = "detail"       // the connector's detail carried it
	FromSubResource = "sub-resource" // its own route, in DocumentSource.APIVersion
)

// DocumentSource says where one document of an archive came from when that
// is not what Meta.Fetch says: the same route in another API layout (the
// chosen one answered 404), or the connector's detail (no layout served it).
type DocumentSource struct {
	ScriptName string `json:"scriptName"`
	// Document is a document kind ("correlation-config") or
	// "translations/<locale>".
	Document   string `json:"document"`
	From       string `json:"from"`
	APIVersion string `json:"apiVersion,omitempty"` // the layout that served it (From sub-resource)
}
