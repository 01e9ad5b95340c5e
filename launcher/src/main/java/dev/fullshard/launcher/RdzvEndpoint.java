package dev.fullshard.launcher;

/**
 * torchrun's {@code --rdzv-endpoint}: {@code host}, {@code host:port}, {@code [ipv6]} or {@code [ipv6]:port}
 * (a bare IPv6 address, having several colons, has no port). {@code port} is null when none is given.
 */
record RdzvEndpoint(String host, Integer port) {
    static RdzvEndpoint parse(String endpoint) {
        String e = endpoint.strip();
        String host = e, port = null;
        if (e.startsWith("[")) {
            int close = e.indexOf(']');
            if (close < 0) throw bad(endpoint, "no ']' after the IPv6 address");
            host = e.substring(1, close);
            String rest = e.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) throw bad(endpoint, "expected ':port' after ']'");
                port = rest.substring(1);
            }
        } else if (e.indexOf(':') >= 0 && e.indexOf(':') == e.lastIndexOf(':')) {
            host = e.substring(0, e.indexOf(':'));
            port = e.substring(e.indexOf(':') + 1);
        }
        if (host.isEmpty()) throw bad(endpoint, "no host");
        if (port == null) return new RdzvEndpoint(host, null);
        try {
            int p = Integer.parseInt(port);
            if (p < 0 || p > 65535) throw bad(endpoint, "the port is outside 0..65535");
            return new RdzvEndpoint(host, p);
        } catch (NumberFormatException x) {
            throw bad(endpoint, "the port is not a number");
        }
    }

    private static IllegalArgumentException bad(String endpoint, String why) {
        return new IllegalArgumentException("--rdzv-endpoint must be host, host:port or [ipv6]:port, not '" + endpoint
                + "' (" + why + ")");
    }
}
