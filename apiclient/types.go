package apiclient

import "github.com/connvault/connvault/domain"

// Wire types of the ISC Connectors API, named as the official spec names them
// (../shared/spec/connectors-openapi.yaml). They carry no logic: anything that
// interprets them lives with the caller, so a spec change touches one file.

// V3ConnectorDto is a list item and the answer to a create.
type V3ConnectorDto struct {
	Name              string         `json:"name,omitempty"`
	Type              string         `json:"type,omitempty"`
	ScriptName        string         `json:"scriptName,omitempty"`
	ClassName         *string        `json:"className,omitempty"`
	Features          []string       `json:"features,omitempty"`
	DirectConnect     bool           `json:"directConnect"`
	ConnectorMetadata map[string]any `json:"connectorMetadata,omitempty"`
	Status            string         `json:"status,omitempty"`
}

// V3CreateConnectorDto is the body of POST /connectors. name and className are required.
type V3CreateConnectorDto struct {
	Name          string `json:"name"`
	Type          string `json:"type,omitempty"`
	ClassName     string `json:"className"`
	DirectConnect *bool  `json:"directConnect,omitempty"`
	Status        string `json:"status,omitempty"`
}

// ConnectorDetail is the answer to GET and PATCH /connectors/{scriptName}.
// translationProperties is declared as a free-form map upstream; in practice
// every value is the properties text of one locale.
type ConnectorDetail struct {
	Name                  string            `json:"name,omitempty"`
	Type                  string            `json:"type,omitempty"`
	ClassName             string            `json:"className,omitempty"`
	ScriptName            string            `json:"scriptName,omitempty"`
	ApplicationXML        string            `json:"applicationXml,omitempty"`
	CorrelationConfigXML  string            `json:"correlationConfigXml,omitempty"`
	SourceConfigXML       string            `json:"sourceConfigXml,omitempty"`
	SourceConfig          *string           `json:"sourceConfig,omitempty"`
	SourceConfigFrom      *string           `json:"sourceConfigFrom,omitempty"`
	S3Location            string            `json:"s3Location,omitempty"`
	UploadedFiles         []string          `json:"uploadedFiles,omitempty"`
	FileUpload            bool              `json:"fileUpload"`
	DirectConnect         bool              `json:"directConnect"`
	TranslationProperties map[string]string `json:"translationProperties,omitempty"`
	ConnectorMetadata     map[string]any    `json:"connectorMetadata,omitempty"`
	Status                string            `json:"status,omitempty"`
}

// UpdateDetail is the answer to every PUT. Status ERROR at HTTP 200 is a failure.
type UpdateDetail struct {
	Message      string   `json:"message,omitempty"`
	ScriptName   string   `json:"scriptName,omitempty"`
	UpdatedFiles []string `json:"updatedFiles,omitempty"`
	Status       string   `json:"status,omitempty"`
}

// UpdateDetail.Status values.
const (
	UpdateError     = "ERROR"
	UpdateUpdated   = "UPDATED"
	UpdateUnchanged = "UNCHANGED"
	UpdateSkipped   = "SKIPPED"
)

// Connector status values (the domain's).
const (
	StatusDeprecated  = domain.StatusDeprecated
	StatusDevelopment = domain.StatusDevelopment
	StatusDemo        = domain.StatusDemo
	StatusReleased    = domain.StatusReleased
)

// JsonPatchOperation is one element of a PATCH body (application/json-patch+json).
type JsonPatchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// ErrorMessageDto is one message of an ErrorResponseDto.
type ErrorMessageDto struct {
	Locale       *string `json:"locale,omitempty"`
	LocaleOrigin *string `json:"localeOrigin,omitempty"`
	Text         string  `json:"text"`
}

// ErrorResponseDto is the body of 400, 403, 404 and 500 answers.
type ErrorResponseDto struct {
	DetailCode string            `json:"detailCode,omitempty"`
	TrackingID string            `json:"trackingId,omitempty"`
	Messages   []ErrorMessageDto `json:"messages,omitempty"`
	Causes     []ErrorMessageDto `json:"causes,omitempty"`
}

// ListAccessProfiles401Response is the body of a 401 (the SDKs' name for it).
type ListAccessProfiles401Response struct {
	Error any `json:"error,omitempty"`
}

// ListAccessProfiles429Response is the body of a 429 (the SDKs' name for it).
type ListAccessProfiles429Response struct {
	Message any `json:"message,omitempty"`
}

// OAuthTokenResponse is the answer of POST /oauth/token (developer docs only).
type OAuthTokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
	TenantID    string `json:"tenant_id,omitempty"`
	Pod         string `json:"pod,omitempty"`
	Org         string `json:"org,omitempty"`
	JTI         string `json:"jti,omitempty"`
}

// Document names a connector's XML sub-resource; the value is its path
// segment. It is the domain's type, so callers need not convert.
type Document = domain.Document

const (
	SourceConfig      = domain.SourceConfig
	SourceTemplate    = domain.SourceTemplate
	CorrelationConfig = domain.CorrelationConfig
)

// Documents lists the XML sub-resources (domain.Documents, the one order).
var Documents = domain.Documents

// Locales is the spec's locale enum, in the spec's order (domain.Locales).
var Locales = domain.Locales

// PatchableFields are the only fields PATCH /connectors/{scriptName} accepts.
var PatchableFields = []string{"connectorMetadata", "applicationXml", "correlationConfigXml", "sourceConfigXml"}
