package dev.fullshard.launcher;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The variables through which each communication engine a rank may load is told which network interface to
 * use ({@code --network-interface}). Each engine reads its own: without them MPICH and NCCL pick an interface by
 * themselves, which on a node with several (a management network, a container bridge, loopback) is often not
 * the one the other nodes can reach.
 */
final class NetworkInterfaceVariables {
    private NetworkInterfaceVariables() {
    }

    /**
     * The variables for {@code iface}, except those already set in {@code env}: a value the user gave for one
     * engine wins over the launcher's. Empty when no interface was asked for.
     */
    static Map<String, String> of(String iface, Map<String, String> env) {
        Map<String, String> vars = new LinkedHashMap<>();
        if (iface == null || iface.isBlank()) return vars;
        // MPICH ch4:ucx (Debian's build) and anything else on UCX: the devices UCX may use, here the TCP one
        vars.put("UCX_NET_DEVICES", iface);
        // MPICH ch4:ofi through libfabric: its tcp and sockets providers each read their own
        vars.put("FI_TCP_IFACE", iface);
        vars.put("FI_SOCKETS_IFACE", iface);
        // MPICH ch3:nemesis, tcp netmod
        vars.put("MPIR_CVAR_NEMESIS_TCP_NETWORK_IFACE", iface);
        // NCCL on GPUs: its bootstrap and socket transport
        vars.put("NCCL_SOCKET_IFNAME", iface);
        vars.keySet().removeIf(k -> env.get(k) != null && !env.get(k).isEmpty());
        return vars;
    }
}
