"""Networks (issue: networks): bridges, veths, IPAM, nftables rules, published
ports and the embedded DNS server.  Given a network namespace path, it wires
it; it knows nothing of images."""
