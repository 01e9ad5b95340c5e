package dev.fullshard.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(30)
class PmiServerTest {
    private static String ask(BufferedReader in, OutputStream out, String line) throws Exception {
        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        return in.readLine();
    }

    @Test
    void speaksTheSimplePmiProtocolAndSurvivesBadClients() throws Exception {
        try (PmiServer server = new PmiServer(InetAddress.getLoopbackAddress(), 0, "s3cret", (m, s) -> s.close())) {
            server.newJob("kvs_x_0", 1, 1, 1);
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
                var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                var out = s.getOutputStream();
                assertThat(ask(in, out, "cmd=initack pmiid=0")).isEqualTo("cmd=initack");
                assertThat(in.readLine()).isEqualTo("cmd=set size=1");
                assertThat(in.readLine()).isEqualTo("cmd=set rank=0");
                assertThat(in.readLine()).isEqualTo("cmd=set debug=0");
                assertThat(ask(in, out, "cmd=init pmi_version=1 pmi_subversion=1"))
                        .isEqualTo("cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0");
                assertThat(ask(in, out, "cmd=get_maxes")).isEqualTo("cmd=maxes kvsname_max=256 keylen_max=64 vallen_max=1024");
                assertThat(ask(in, out, "cmd=get_my_kvsname")).isEqualTo("cmd=my_kvsname kvsname=kvs_x_0");
                assertThat(ask(in, out, "cmd=get kvsname=kvs_x_0 key=PMI_process_mapping")).endsWith("value=(vector,(0,1,1))");
                assertThat(ask(in, out, "cmd=put kvsname=kvs_x_0 key=a value=b")).startsWith("cmd=put_result rc=0");
                assertThat(ask(in, out, "cmd=get kvsname=kvs_x_0 key=a")).isEqualTo("cmd=get_result rc=0 msg=success value=b");
                assertThat(ask(in, out, "cmd=get kvsname=kvs_x_0 key=zz")).startsWith("cmd=get_result rc=-1");
                assertThat(ask(in, out, "cmd=barrier_in")).isEqualTo("cmd=barrier_out");
                assertThat(ask(in, out, "cmd=put kvsname=kvs_x_0 key=big value=" + "v".repeat(1025))).isEqualTo("cmd=error msg=value_too_long");
                assertThat(in.readLine()).isNull();
            }
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
                var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                assertThat(ask(in, s.getOutputStream(), "x".repeat(5000))).isEqualTo("cmd=error msg=line_too_long");
            }
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
                var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                assertThat(ask(in, s.getOutputStream(), "garbage")).isEqualTo("cmd=error msg=malformed_token");
            }
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
                var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                assertThat(ask(in, s.getOutputStream(), "cmd=fs_join secret=wrong node=1 nproc=1"))
                        .isEqualTo("cmd=fs_refused msg=wrong_secret");
            }
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {  // still serving
                var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                assertThat(ask(in, s.getOutputStream(), "cmd=get_appnum")).isEqualTo("cmd=appnum appnum=0");
            }
        }
    }
}
