package plan

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestPlanSchemaDocumentsEveryField: every JSON field of the plan document
// is named, in backquotes, in docs/plan-schema.md, the schema's reference;
// "algorithm" and "guard" were written by plan -format json and documented
// nowhere.
func TestPlanSchemaDocumentsEveryField(t *testing.T) {
	doc, err := os.ReadFile("../../docs/plan-schema.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{Plan{}, Shard{}, Split{}, Resources{}, Estimate{}, Channel{}, Alternative{}, Baseline{}, ClassUse{}, Stats{}} {
		ty := reflect.TypeOf(v)
		for i := range ty.NumField() {
			name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("%s.%s: field %q is not in docs/plan-schema.md", ty.Name(), ty.Field(i).Name, name)
			}
		}
	}
}
