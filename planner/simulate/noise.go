package simulate

import (
	"math"
	"math/rand/v2"
)

// noiseStream is the second PCG word; fixed so that Options.Seed alone
// names a run.
const noiseStream = 0x5368617264776973 // "Shardwis"

// applyNoise multiplies each runtime by a lognormal factor with mean 1 and
// coefficient of variation opts.Noise, one draw per shard in plan order.
//
// A lognormal variable exp(mu + sigma*Z), Z standard normal, has mean
// exp(mu + sigma²/2) and coefficient of variation sqrt(exp(sigma²) - 1);
// so sigma² = ln(1 + cv²) and mu = -sigma²/2 give mean 1 and the wanted cv
// (Johnson, Kotz and Balakrishnan, Continuous Univariate Distributions,
// vol. 1, 2nd ed., 1994, ch. 14). A factor is always positive, so noisy
// runtimes stay non-negative.
func (m *model) applyNoise(opts Options) {
	m.noise = make([]float64, len(m.runtime))
	for i := range m.noise {
		m.noise[i] = 1
	}
	if opts.Noise == 0 {
		return
	}
	sigma2 := math.Log1p(opts.Noise * opts.Noise)
	sigma, mu := math.Sqrt(sigma2), -sigma2/2
	rng := rand.New(rand.NewPCG(opts.Seed, noiseStream))
	for i := range m.runtime {
		m.noise[i] = math.Exp(mu + sigma*rng.NormFloat64())
		m.runtime[i] *= m.noise[i]
	}
}
