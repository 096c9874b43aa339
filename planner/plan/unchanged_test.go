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
// prediction table) made by the planner before its speed work (issue 9;
// the last made on main at fd51627), so that making the planner faster
// cannot change a plan unnoticed. The plans change when planning is meant
// to change: then replace the digests with the ones the failures print.
var planHashes = map[string]string{
	"bench10k":           "2d9043a5e10ec195b4eeb0ae926ba719814edfaf65b79c1c7cc266480a85c977",
	"seed1/default":      "b76332c2908671aa554353b5477fad8e3fc58609c1fb153b30ffc6644986126e",
	"seed1/heft":         "fea8de39d68ea54a1f2d19928f21dcb1d79f8f89a56e606dda668a17279c63cc",
	"seed1/insertion":    "62e973bd78ec2cdde85f87a1ebeaa66091656f4db2463476126c6794a641162a",
	"seed1/medianfusion": "b76332c2908671aa554353b5477fad8e3fc58609c1fb153b30ffc6644986126e",
	"seed1/medianranks":  "62908f0e30c700db702d355366472a9967ae6e807edd63ad10b7e4938d0d6eff",
	"seed1/near":         "89941e1923bb90765ca651235467d74dc8a8557e6b5685c28b64484eae77e80c",
	"seed1/nobatch":      "e065cf0239fb0d66e2929d4b4da9d6e59f5556b79edd9787608980227e37c94a",
	"seed1/nofusion":     "a6e28ea644928c0a611074b6c59bd155ab38fcdb7874236db15f80ecaf321744",
	"seed1/single":       "f711367e0cf50d3694e507835924a928ab9ae2c04205f163e6c53f088f0ea12e",
	"seed1/streams":      "00389ff17a0d4acab3d7b2a3ab3c98571db0dcf768b74ec1de94c303761c4f9d",
	"seed2/default":      "92c59ba2fa3b39c047a091fbb9a048ffb1f4df7c301eb403200c98e77b5ba44d",
	"seed2/heft":         "692bc28dbe997f54795e7ac33f083b28a54461b8949f4e23268052f652e6e331",
	"seed2/insertion":    "e3d32162839ecc8c4d5590e3c79d0383e17d2728479f13481e4221d5962f7b54",
	"seed2/medianfusion": "92c59ba2fa3b39c047a091fbb9a048ffb1f4df7c301eb403200c98e77b5ba44d",
	"seed2/medianranks":  "b6e3f367a554ad18b471969cdb86872b4d9af5b222842fdbf398ebebcbf1920c",
	"seed2/near":         "3f6551cbbf005c80d9d5c9794a4b34d544592f6f94a3b502906c34c14647070d",
	"seed2/nobatch":      "2b1791146b598aec79210ec24e612230b300891e456f8e561d1eab9a92ace544",
	"seed2/nofusion":     "f386b4897235ffb27e110365ae85f7c9145e10cd8f8415408ad88d321a801d2b",
	"seed2/single":       "e3c43e277ac415c38cc82e5927b6b81e01717298d206d4a178e8d70fdb640a65",
	"seed2/streams":      "0f82b0e44c70a1638e8f6a0abda99e071f205926be12e9b431a274966477cf98",
	"seed3/default":      "2d6e201c68b7ffe24dd03d35f3e16a4070ac3177597b4896b4e882223d7de75e",
	"seed3/heft":         "1d07d4cd890c6d4c08ee86a02394df7c354c558f4fae0e68916f59ab4d3b26f1",
	"seed3/insertion":    "da91384e6947ccf52240f5d30e30cffa789ba90db01a23cced30a6f05f1f501f",
	"seed3/medianfusion": "2d6e201c68b7ffe24dd03d35f3e16a4070ac3177597b4896b4e882223d7de75e",
	"seed3/medianranks":  "b1ba1f8b6cc18b693192318dc0629880a11d1b9e840fedfdd636e7cc68164717",
	"seed3/near":         "59644a08c0fd63195ffb4c8c1fac568c7b47fc8c155dd3116d709da88ebe9df5",
	"seed3/nobatch":      "8fd5d1324ca8f3091534e821f98cdda5ad058a456d5a7943d30b5ae89b8aa072",
	"seed3/nofusion":     "901229c122325cfcf50145abec98d64f97957abea2aa68e5c5e2ad1fcc582f3e",
	"seed3/single":       "1f1fa5d697b77246b90c643e46471abebcb8fefc73f30058007a27c01e234b73",
	"seed3/streams":      "25517e04d03e7cb32e9bce0310c16471a08eebaa35c31f7fbe8e527d81d47577",
	"seed4/default":      "c658664399615bb364d271f3683f18c4216830c7a454b7d05e8392a1fafaf0d3",
	"seed4/heft":         "2bb462ee8ba19f69d36126cc755f9d4f68b9501123d59ba1035f3fb04bb95005",
	"seed4/insertion":    "f9c726f00bae2b79be38bd4ad148d9d8318cf8f0f59c9d17501d5bf443707fd1",
	"seed4/medianfusion": "c658664399615bb364d271f3683f18c4216830c7a454b7d05e8392a1fafaf0d3",
	"seed4/medianranks":  "54e650862a5076d2bc483fb452570a31dc312c44cb28a7ba3e7a28e76b5914e9",
	"seed4/near":         "b61f06cb2f8caf33bfc296458af5d06ee775fd0a593b3165657d912b11a5c98c",
	"seed4/nobatch":      "fa67d4bf69858db671e9fac2bd8dffb9d2790212afc12bb98f4de2f42e4bcf08",
	"seed4/nofusion":     "5b68dad8a6857b9f933781b6e06716fe9161fee5b17a509810fc5a8c22086c69",
	"seed4/single":       "3a10ce5af7e9bd6f739f07a5daca5af8d7aafdfeea791236cc3376263e47219a",
	"seed4/streams":      "218c4efcfd4de8954734436ac2159cd4f47aad30bc760b5e9e974699b689e682",
	"seed5/default":      "782ecf87d6b756c30e0128ed561dc0275ff6498f55b1cbbd34b66a3c0fc431aa",
	"seed5/heft":         "3fec3a665ef27dcb9781b65b9aaa3993a7cbc6c335ad37dec873c5f651108dea",
	"seed5/insertion":    "a6bab622b64a670b781fce39b4d19de8c672f6288aaa179393b48bc635959f9d",
	"seed5/medianfusion": "782ecf87d6b756c30e0128ed561dc0275ff6498f55b1cbbd34b66a3c0fc431aa",
	"seed5/medianranks":  "8488c488af493eb1d640ee828ea4cff4ca40047c90641b226a731733f3b39f56",
	"seed5/near":         "184f457652070b0820d705c16dc283ecfc0381f654e03ae4077bc97a27e3dad1",
	"seed5/nobatch":      "91f4b6c22c1ee3997af6f1875d2d04df19632b52e0e9ff015b55eb5613c65751",
	"seed5/nofusion":     "a7b4452fc8618666a4cdec9c2973c8b3f924babfdbc66f859772cedf2ccb96ec",
	"seed5/single":       "6d6e71197a3c179700c81e69dc5b3ae6f3cab4ed28ae0c75bdbcc56ee905eef9",
	"seed5/streams":      "f554190f1be56c8efd8d8871ef2979fcdd831cab68d3106923e1622ecbe6d6a4",
	"seed6/default":      "05581ba11e3ffabbe076a8b03ebbfff28380463cd56e252be11dbf1b8f4bd0ca",
	"seed6/heft":         "e038ae526e7004e5803e3ac77a60e936fe0553adaee8fdc3d7ebb5aea0b581d1",
	"seed6/insertion":    "c565912236150fcd19725a96c64a28bb214e22d518686bec4e393b80506f06cf",
	"seed6/medianfusion": "c1ad6d75533391aeaddaacb97e128912d59e279b3c5da6ffbb27e8914e3cb108",
	"seed6/medianranks":  "e00fe0325152b204c7852755a47545df75ff2fb3da7919af86bebe14051b5976",
	"seed6/near":         "98f53e4dd539171a5b450c15135fd46d29c37d651342f77fa9d4df569c405a00",
	"seed6/nobatch":      "aa4c03638f7e07dc4bab1e7bc03be50c9390169e9551f35e0d7e63ad111283d6",
	"seed6/nofusion":     "bd9e3408129fddb1265c1a4d8b010d866d7e08b5f462fdcdfbd4b50d3212ef01",
	"seed6/single":       "88d35613075075fdfc2cbd3b582b36b90effc9228020d3950b5abdf7b6737a8d",
	"seed6/streams":      "c053c4bef5944cda91bd9f70cd06bbafb6e0b56f70ea86d86e2c30912750880e",
	"table10k":           "079852fdd66d251c4b955812219fc230530e4ae3893b7a38d3533d4b70d3bb4b",
}

// TestPlansUnchanged plans the 10,000-task benchmark graph (predicted by
// the default catalog) and random 1,000-task graphs with split tasks and
// p90 spreads under every option and method, then with tasks of a few
// tools (near siblings) and with streaming edges and services, and
// compares digests of the plan documents with planHashes.
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
	// Planned before tableHash expands the table (predict.Table): the
	// plan reads the factored form Predict makes.
	p, err := Build(g, cat, tb, Options{Run: "bench"})
	if err != nil {
		t.Fatal(err)
	}
	got["bench10k"] = planHash(t, p)
	got["table10k"] = tableHash(t, tb)

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
		// Tasks of a few tools: near siblings (one tool, different
		// upstream groups) batch too.
		for i, task := range g.Tasks {
			task.Signature = fmt.Sprintf("tool%d", i%5)
		}
		p, err := Build(g, cat, tb, Options{Run: "r"})
		if err != nil {
			t.Fatalf("seed %d near: %v", seed, err)
		}
		got[fmt.Sprintf("seed%d/near", seed)] = planHash(t, p)
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
		p, err = Build(g, cat, tb, Options{Run: "r"})
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
