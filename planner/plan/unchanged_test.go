package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/predict"
)

// planHashes are SHA-256 digests of plan JSON documents (and of the 10k
// prediction table) recorded before the planner's speed work, so that
// making the planner faster cannot change a plan unnoticed. The plans
// change when planning is meant to change: then replace the digests with
// the ones the failures print.
var planHashes = map[string]string{
	"bench10k":           "2d9043a5e10ec195b4eeb0ae926ba719814edfaf65b79c1c7cc266480a85c977",
	"seed1/default":      "53b079dfb399f7140cc3b26b4370ed0cade61ec8eef6361c4f03fe1f9378de1d",
	"seed1/heft":         "5dff29a6f865baef5ebc5da1e33d7e9821b28447f2032a59fc4ac077e8e511d2",
	"seed1/insertion":    "2f43cbf3a99f700fb43919fdf6d9c27b1be9beca1e6da149b7fd7279cfa6b2ad",
	"seed1/medianfusion": "53b079dfb399f7140cc3b26b4370ed0cade61ec8eef6361c4f03fe1f9378de1d",
	"seed1/medianranks":  "387f598c4092a39ca81709ff3ac2f30306120a9d0a7a3c5ce8391640b7ee6db7",
	"seed1/nobatch":      "e065cf0239fb0d66e2929d4b4da9d6e59f5556b79edd9787608980227e37c94a",
	"seed1/nofusion":     "a6e28ea644928c0a611074b6c59bd155ab38fcdb7874236db15f80ecaf321744",
	"seed1/single":       "5f26f04660510821a9824b228d7b608abd7183a07e91faa4b473e7b125e86fbd",
	"seed1/streams":      "f74cb332629402533de489a7a6795586fbdcc56f85039fd3cfd6e6d939094864",
	"seed2/default":      "2b1791146b598aec79210ec24e612230b300891e456f8e561d1eab9a92ace544",
	"seed2/heft":         "53b031cdd30e274fabacf64533d1d46fe538e034b07fa81be0d1702d250de73e",
	"seed2/insertion":    "0dd3ccf91385a7da06dca03599840a7f33a0f495364fe93d08ddb9dbcdb85435",
	"seed2/medianfusion": "2b1791146b598aec79210ec24e612230b300891e456f8e561d1eab9a92ace544",
	"seed2/medianranks":  "4d518b1729692613e65430a1aa4b86b8ef4c15c7ca85dda370f39eb88dfb6a8e",
	"seed2/nobatch":      "2b1791146b598aec79210ec24e612230b300891e456f8e561d1eab9a92ace544",
	"seed2/nofusion":     "f386b4897235ffb27e110365ae85f7c9145e10cd8f8415408ad88d321a801d2b",
	"seed2/single":       "211bb73fb2c1a83abeb5f14811b87cdb5420e94ae219223bd385707eef51a671",
	"seed2/streams":      "dcd9dc069ca76a2abe127a1c179fe558a48825b0fe6e52f9fe14f49c9a422c98",
	"seed3/default":      "24d9ce586b1339d8d84b7dd1f83fcbe71da0f0b2521e6ee9079b3871e7a75887",
	"seed3/heft":         "56831cd7a629f8fb944ad8dabcb1a90484aced3bfa6737bcd59cfba7dbb50639",
	"seed3/insertion":    "c5b987580b5c2ff4401a8f1b8d10c020eae8dbf153ef6bb6695d88c71f85d2c4",
	"seed3/medianfusion": "24d9ce586b1339d8d84b7dd1f83fcbe71da0f0b2521e6ee9079b3871e7a75887",
	"seed3/medianranks":  "8be541ecfec8a006fe80cd385a4ff452e5b525e552cac49061caf6fef10fc826",
	"seed3/nobatch":      "8fd5d1324ca8f3091534e821f98cdda5ad058a456d5a7943d30b5ae89b8aa072",
	"seed3/nofusion":     "901229c122325cfcf50145abec98d64f97957abea2aa68e5c5e2ad1fcc582f3e",
	"seed3/single":       "3a211464db09837c490412fbc594c6604fd44b5faf2b997ffed01fc828dd2b9f",
	"seed3/streams":      "9ee7b7bdd7f09747d8a6a03b7686011ac3715ec5295d85e54755a96aef1a1dd1",
	"seed4/default":      "57d9042f17dde5916e92458471e82a1a863793d51e619fc1387b2a3c9c0dc6ac",
	"seed4/heft":         "adf20c6df0ecad9d1c02b7c84455bc8b7035c733ceba3e61d4e1d8b9decc30f8",
	"seed4/insertion":    "f9c726f00bae2b79be38bd4ad148d9d8318cf8f0f59c9d17501d5bf443707fd1",
	"seed4/medianfusion": "57d9042f17dde5916e92458471e82a1a863793d51e619fc1387b2a3c9c0dc6ac",
	"seed4/medianranks":  "13ab60c9cb466633b4c8142329120756771c72c150381f5eb62605539e04ba3d",
	"seed4/nobatch":      "fa67d4bf69858db671e9fac2bd8dffb9d2790212afc12bb98f4de2f42e4bcf08",
	"seed4/nofusion":     "5b68dad8a6857b9f933781b6e06716fe9161fee5b17a509810fc5a8c22086c69",
	"seed4/single":       "69396e3e5f0c0b524bb0b1ca3212cc4d0e77ba52529dc7ee0f7dbd682bc42df9",
	"seed4/streams":      "60cd8ae2d9e6dd12ce01dfdfa22af5d96ed6ff8ee15b8afbb87899f295d871a5",
	"seed5/default":      "861a4628610208bf59411affb313b11357214667963be42ded418a3a3a60fa38",
	"seed5/heft":         "413727f59d7f21c41a0fb9d0c6c4fd3c91ab47271e97f1c37d98b4355aaadbed",
	"seed5/insertion":    "c05bbd9058f04e86190a585754c01c20e7ee4394a808790cf9838ee8f61f4fb1",
	"seed5/medianfusion": "861a4628610208bf59411affb313b11357214667963be42ded418a3a3a60fa38",
	"seed5/medianranks":  "d2a93ba534ba1f39328c31bfb9d89dc3231710a308057196387e2e20d7f76c0d",
	"seed5/nobatch":      "91f4b6c22c1ee3997af6f1875d2d04df19632b52e0e9ff015b55eb5613c65751",
	"seed5/nofusion":     "a7b4452fc8618666a4cdec9c2973c8b3f924babfdbc66f859772cedf2ccb96ec",
	"seed5/single":       "ac8a2c2b499c53477397f4ef5a3187af3eb0ba25a0211cff8bdb5c504a3cbcb6",
	"seed5/streams":      "7835f0f84725cc22ca685d8ce37b25ba7adf8bf92ab3391e403c8274a280dd22",
	"seed6/default":      "05581ba11e3ffabbe076a8b03ebbfff28380463cd56e252be11dbf1b8f4bd0ca",
	"seed6/heft":         "1f512ddccd76a95e4f15f4fb779c32321dd6d9d4e16955a1e53be53129ba9a33",
	"seed6/insertion":    "efc939c9ceef8c7bf62bd5d3ea54f894ed11d7ce898e96c82cbaeb0a102995f5",
	"seed6/medianfusion": "c1ad6d75533391aeaddaacb97e128912d59e279b3c5da6ffbb27e8914e3cb108",
	"seed6/medianranks":  "a3706bf69c8d2e66dd516aed70b410f7d04ed26b793a0a27c535d2fc0651e401",
	"seed6/nobatch":      "aa4c03638f7e07dc4bab1e7bc03be50c9390169e9551f35e0d7e63ad111283d6",
	"seed6/nofusion":     "bd9e3408129fddb1265c1a4d8b010d866d7e08b5f462fdcdfbd4b50d3212ef01",
	"seed6/single":       "4980864b236d7b9b7529106e323948a3935ac9e38a07fe16536b7bd4cb63d3c0",
	"seed6/streams":      "af6aca24560c2e89194e87f144580562d20b4bc744f2113219f90305f33987f1",
	"table10k":           "079852fdd66d251c4b955812219fc230530e4ae3893b7a38d3533d4b70d3bb4b",
}

// TestPlansUnchanged plans the 10,000-task benchmark graph (predicted by
// the default catalog) and smaller random graphs with split tasks and p90
// spreads under every option and method, and compares digests of the
// plan documents with planHashes.
func TestPlansUnchanged(t *testing.T) {
	if testing.Short() {
		t.Skip("plans a 10,000-task graph")
	}
	got := map[string]string{}
	g, err := synth.Generate(synth.Params{Tasks: 10_000, Alpha: 1, OutDegree: 3, CCR: 0.5, Beta: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.Default()
	pred, err := predict.New(cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := pred.Predict(g)
	if err != nil {
		t.Fatal(err)
	}
	got["table10k"] = tableHash(t, tb)
	p, err := Build(g, cat, tb, Options{Run: "bench"})
	if err != nil {
		t.Fatal(err)
	}
	got["bench10k"] = planHash(t, p)

	for seed := uint64(1); seed <= 6; seed++ {
		g, cat, tb := randomCase(t, seed, 1000)
		for i, task := range g.Tasks {
			if task.Split != nil { // randomCase's sizes outgrow the classes past 260 tasks
				task.Split.InputBytes = int64(1+i%20) << 30
			}
		}
		addSpread(tb, seed)
		for name, opts := range map[string]Options{
			"default": {}, "insertion": {Insertion: true}, "nofusion": {NoFusion: true},
			"nobatch": {NoBatch: true}, "medianranks": {MedianRanks: true}, "medianfusion": {MedianFusion: true},
		} {
			opts.Run = "r"
			p, err := Build(g, cat, tb, opts)
			if err != nil {
				t.Fatalf("seed %d %s: %v", seed, name, err)
			}
			got[fmt.Sprintf("seed%d/%s", seed, name)] = planHash(t, p)
		}
		// Streaming edges and services keep tasks out of chains and
		// batches.
		for i, e := range g.Edges {
			e.Stream = i%11 == int(seed)
		}
		for i, task := range g.Tasks {
			if i%13 == int(seed) && task.Split == nil {
				task.Type = graph.TypeService
			}
		}
		p, err := Build(g, cat, tb, Options{Run: "r"})
		if err != nil {
			t.Fatalf("seed %d streams: %v", seed, err)
		}
		got[fmt.Sprintf("seed%d/streams", seed)] = planHash(t, p)
		for _, m := range []Method{{Name: MethodHEFT}, {Name: MethodSingle}} {
			key := fmt.Sprintf("seed%d/%s", seed, m)
			p, err := BuildMethod(g, cat, tb, Options{Run: "r"}, m)
			if err != nil { // single fails when no class runs every task
				got[key] = "error: " + err.Error()
				continue
			}
			got[key] = planHash(t, p)
		}
	}
	names := slices.Sorted(maps.Keys(got))
	for _, name := range names {
		if planHashes[name] != got[name] {
			t.Errorf("%q: %q,", name, got[name])
		}
	}
	if len(planHashes) != len(got) {
		t.Errorf("%d recorded digests, %d plans", len(planHashes), len(got))
	}
}

// addSpread gives every third task a p90 runtime above its median on each
// class, so that robust ranks and fusion take part.
func addSpread(tb *predict.Table, seed uint64) {
	for tk := 0; tk < tb.Tasks(); tk++ {
		if (tk+int(seed))%3 != 0 {
			continue
		}
		for c := range tb.Classes {
			n := tb.At(tk, c)
			n.Runtime.P90 = n.Runtime.Value * (1.2 + float64((tk+c)%5)*0.4)
		}
	}
}

func planHash(t *testing.T, p *Plan) string {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func tableHash(t *testing.T, tb *predict.Table) string {
	t.Helper()
	h := sha256.New()
	enc := json.NewEncoder(h)
	if err := enc.Encode(tb.Classes); err != nil {
		t.Fatal(err)
	}
	if err := enc.Encode(tb.Kinds); err != nil {
		t.Fatal(err)
	}
	for tk := 0; tk < tb.Tasks(); tk++ {
		for c := range tb.Classes {
			if err := enc.Encode(tb.At(tk, c)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
