package cluster

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// portPicker hands out distinct free ports on 127.0.0.1. Each port stays
// bound until release, so one picker never hands out the same port twice;
// after release the agents bind them. Ports come from below the kernel's
// ephemeral range (ip_local_port_range): a port from that range can be
// taken between release and the agent's bind by any outgoing connection
// (13 agents starting make hundreds), which failed a cluster start with
// "bind: address already in use"; below it only another listener that
// picks the same port can, and the picks are random. They also stay below
// Nomad's dynamic port range (nomadMinDynamicPort up), which a client
// hands out to allocations' ports without asking the host whether
// another cluster's agent holds one.
type portPicker struct {
	held []io.Closer
	rnd  *rand.Rand
}

// nomadMinDynamicPort is the low end of a Nomad client's dynamic port
// range (client min_dynamic_port, default 20000; the clients here keep
// it).
const nomadMinDynamicPort = 20000

// pickRange is where ports are picked: [lo, hi), below both the
// ephemeral range and nomadMinDynamicPort. Outside Linux, or when the
// ephemeral range cannot be read or leaves too little room below it,
// ports come from the OS (":0").
func pickRange() (lo, hi int, ok bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, false
	}
	eph, err := strconv.Atoi(f[0])
	hi = min(eph, nomadMinDynamicPort)
	if err != nil || hi-10000 < 2000 {
		return 0, 0, false
	}
	return 10000, hi, true
}

// listen binds a free TCP port on 127.0.0.1, from pickRange when it can.
func (p *portPicker) listen() (net.Listener, error) {
	if lo, hi, ok := pickRange(); ok {
		if p.rnd == nil {
			p.rnd = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid())))
		}
		for range 100 {
			port := lo + p.rnd.IntN(hi-lo)
			if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				return l, nil
			}
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// tcp returns a port free for TCP.
func (p *portPicker) tcp() (int, error) {
	l, err := p.listen()
	if err != nil {
		return 0, fmt.Errorf("pick a free TCP port: %w", err)
	}
	p.held = append(p.held, l)
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tcpUDP returns a port free for both TCP and UDP (serf gossip, DNS).
func (p *portPicker) tcpUDP() (int, error) {
	const tries = 50
	for range tries {
		l, err := p.listen()
		if err != nil {
			return 0, fmt.Errorf("pick a free TCP port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			l.Close()
			continue
		}
		p.held = append(p.held, l, u)
		return port, nil
	}
	return 0, fmt.Errorf("no port free for both TCP and UDP after %d tries", tries)
}

// release unbinds every port handed out.
func (p *portPicker) release() {
	for _, c := range p.held {
		c.Close()
	}
	p.held = nil
}

// consulPorts are the Consul dev agent's listeners.
type consulPorts struct {
	HTTP, DNS, SerfLAN, SerfWAN, Server, GRPC int
}

// nomadPorts are one Nomad agent's listeners.
type nomadPorts struct {
	HTTP, RPC, Serf int
}

func (p *portPicker) consul() (consulPorts, error) {
	var c consulPorts
	err := p.fill(
		portReq{&c.HTTP, false}, portReq{&c.DNS, true}, portReq{&c.SerfLAN, true},
		portReq{&c.SerfWAN, true}, portReq{&c.Server, false}, portReq{&c.GRPC, false},
	)
	return c, err
}

func (p *portPicker) nomad() (nomadPorts, error) {
	var n nomadPorts
	err := p.fill(portReq{&n.HTTP, false}, portReq{&n.RPC, false}, portReq{&n.Serf, true})
	return n, err
}

// portReq asks for one port, with UDP too when udp is set.
type portReq struct {
	dst *int
	udp bool
}

func (p *portPicker) fill(reqs ...portReq) error {
	for _, r := range reqs {
		pick := p.tcp
		if r.udp {
			pick = p.tcpUDP
		}
		port, err := pick()
		if err != nil {
			return err
		}
		*r.dst = port
	}
	return nil
}
