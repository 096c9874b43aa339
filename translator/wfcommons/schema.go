package wfcommons

// JSON shapes of the WfFormat versions Import reads. Numbers that are
// sometimes absent are pointers, so that "absent" and "0" stay apart.

// header is what Import reads first, to pick a schema.
type header struct {
	SchemaVersion *string `json:"schemaVersion"`
}

// doc15 is a WfFormat 1.5 instance.
type doc15 struct {
	Name          string  `json:"name"`
	SchemaVersion string  `json:"schemaVersion"`
	RuntimeSystem *system `json:"runtimeSystem"`
	Workflow      *flow15 `json:"workflow"`
}

type system struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type flow15 struct {
	Repo          string  `json:"repo"`
	RunName       string  `json:"runName"`
	Specification *spec15 `json:"specification"`
	Execution     *exec15 `json:"execution"`
}

type spec15 struct {
	Tasks []specTask15 `json:"tasks"`
	Files []specFile15 `json:"files"`
}

type specTask15 struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Parents     []string `json:"parents"`
	Children    []string `json:"children"`
	InputFiles  []string `json:"inputFiles"`
	OutputFiles []string `json:"outputFiles"`
}

type specFile15 struct {
	ID          string   `json:"id"`
	SizeInBytes *float64 `json:"sizeInBytes"`
}

type exec15 struct {
	MakespanInSeconds float64      `json:"makespanInSeconds"`
	ExecutedAt        string       `json:"executedAt"`
	Tasks             []execTask15 `json:"tasks"`
	Machines          []machineDoc `json:"machines"`
}

type execTask15 struct {
	ID               string   `json:"id"`
	RuntimeInSeconds *float64 `json:"runtimeInSeconds"`
	ExecutedAt       string   `json:"executedAt"`
	Command          *command `json:"command"`
	CoreCount        *float64 `json:"coreCount"`
	AvgCPU           *float64 `json:"avgCPU"`
	MemoryInBytes    *float64 `json:"memoryInBytes"`
	ReadBytes        *float64 `json:"readBytes"`
	WrittenBytes     *float64 `json:"writtenBytes"`
	Machines         []string `json:"machines"`
}

type command struct {
	Program   string   `json:"program"`
	Arguments []string `json:"arguments"`
}

// machineDoc serves both schemas: 1.5 writes cpu.speedInMHz, 1.4
// cpu.speed. Only the name and clock are read.
type machineDoc struct {
	NodeName string `json:"nodeName"`
	CPU      *struct {
		SpeedInMHz *float64 `json:"speedInMHz"`
		Speed      *float64 `json:"speed"`
	} `json:"cpu"`
}

// doc14 is a WfFormat 1.4 instance: one flat workflow whose tasks carry
// their own files and measurements.
type doc14 struct {
	Name          string  `json:"name"`
	SchemaVersion string  `json:"schemaVersion"`
	WMS           *system `json:"wms"`
	Workflow      *flow14 `json:"workflow"`
}

type flow14 struct {
	MakespanInSeconds float64      `json:"makespanInSeconds"`
	ExecutedAt        string       `json:"executedAt"`
	Machines          []machineDoc `json:"machines"`
	Tasks             []task14     `json:"tasks"`
}

type task14 struct {
	Name             string   `json:"name"`
	ID               string   `json:"id"`
	Category         string   `json:"category"`
	Type             string   `json:"type"`
	Parents          []string `json:"parents"`
	Children         []string `json:"children"`
	Files            []file14 `json:"files"`
	RuntimeInSeconds *float64 `json:"runtimeInSeconds"`
	ExecutedAt       string   `json:"executedAt"`
	Command          *command `json:"command"`
	Cores            *float64 `json:"cores"`
	AvgCPU           *float64 `json:"avgCPU"`
	MemoryInBytes    *float64 `json:"memoryInBytes"`
	ReadBytes        *float64 `json:"readBytes"`
	WrittenBytes     *float64 `json:"writtenBytes"`
	// Older KB-valued fields, used only where the ...Bytes ones are absent.
	Memory       *float64 `json:"memory"`
	BytesRead    *float64 `json:"bytesRead"`
	BytesWritten *float64 `json:"bytesWritten"`
	Machine      string   `json:"machine"`
}

type file14 struct {
	Link        string   `json:"link"`
	Name        string   `json:"name"`
	SizeInBytes *float64 `json:"sizeInBytes"`
}
