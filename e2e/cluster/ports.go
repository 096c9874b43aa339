package cluster

import (
	"fmt"
	"io"
	"net"
)

// portPicker hands out distinct free ports on 127.0.0.1. Each port stays
// bound until release, so one picker never hands out the same port twice;
// after release the agents bind them. Another process may in principle
// take a port between release and the agent's bind; the OS cycles through
// its ephemeral range, so that window is small.
type portPicker struct {
	held []io.Closer
}

// tcp returns a port free for TCP.
func (p *portPicker) tcp() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
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
		l, err := net.Listen("tcp", "127.0.0.1:0")
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
