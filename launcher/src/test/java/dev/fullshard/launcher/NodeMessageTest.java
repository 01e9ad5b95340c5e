package dev.fullshard.launcher;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NodeMessageTest {
    private static NodeMessage roundTrip(NodeMessage m) throws Exception {
        return NodeMessage.decode(m.encode());
    }

    @Test
    void everyMessageDecodesToItself() throws Exception {
        List<NodeMessage> messages = List.of(new NodeMessage.Join("s3cret", 2, 4, "node-b"), new NodeMessage.Welcome(),
                new NodeMessage.Refused("wrong_secret"), new NodeMessage.Start(3), new NodeMessage.DumpThreads(),
                new NodeMessage.StopAfterFailure(), new NodeMessage.ForwardSignal("USR1"), new NodeMessage.Finish(137),
                new NodeMessage.Result(1, null), new NodeMessage.Heartbeat());
        for (NodeMessage m : messages) assertThat(roundTrip(m)).as(m.encode()).isEqualTo(m);
    }

    @Test
    void aFailureKeepsEveryFieldButItsTimeWhichIsWhenItArrives() throws Exception {
        Failure sent = new Failure(Instant.EPOCH, "host a", 1, 5, 1, 139, "/logs/attempt_0/rank_5.log",
                List.of("step 3", "Segmentation fault (core dumped)"), "{\"message\": \"boom\"}", "a note", false);
        var received = (NodeMessage.Result) roundTrip(new NodeMessage.Result(2, sent));

        assertThat(received.attempt()).isEqualTo(2);
        assertThat(received.failure().time()).isAfter(Instant.EPOCH);
        assertThat(received.failure()).usingRecursiveComparison().ignoringFields("time").isEqualTo(sent);
    }

    @Test
    void aFailureWithoutLogNoteOrErrorFileStaysWithout() throws Exception {
        Failure sent = new Failure(Instant.EPOCH, "h", 1, 2, 0, Failure.NOT_STARTED, null, List.of(), null, null, true);
        var received = (NodeMessage.Result) roundTrip(new NodeMessage.Result(0, sent));

        assertThat(received.failure()).usingRecursiveComparison().ignoringFields("time").isEqualTo(sent);
    }

    @Test
    void theWireFormatIsTheOneOlderLaunchersSpeak() {
        assertThat(new NodeMessage.Join("s", 1, 2, "h").encode()).isEqualTo("cmd=fs_join secret=s node=1 nproc=2 host=h");
        assertThat(new NodeMessage.StopAfterFailure().encode()).isEqualTo("cmd=fs_stop failure=1");
        assertThat(new NodeMessage.ForwardSignal("TERM").encode()).isEqualTo("cmd=fs_stop signal=TERM");
        assertThat(new NodeMessage.Result(4, null).encode()).isEqualTo("cmd=fs_result attempt=4 ok=1");
    }

    @Test
    void aMessageOfANewerLauncherIsUnknownNotAnError() throws Exception {
        assertThat(NodeMessage.decode("cmd=fs_later x=1")).isEqualTo(new NodeMessage.Unknown(Map.of("cmd", "fs_later", "x", "1")));
    }

    @Test
    void aMalformedLineSaysWhatIsWrongWithIt() {
        assertThatThrownBy(() -> NodeMessage.decode("fs_start 3")).isInstanceOf(PmiMessage.ProtocolException.class)
                .hasMessage("malformed node channel message (malformed_token): fs_start 3");
        assertThatThrownBy(() -> NodeMessage.decode("cmd=fs_start attempt=three")).isInstanceOf(PmiMessage.ProtocolException.class)
                .hasMessage("malformed node channel message fs_start: attempt=three is not a whole number");
        assertThatThrownBy(() -> NodeMessage.decode("cmd=fs_result attempt=0 ok=0 rank=1 local=0 code=1"))
                .isInstanceOf(PmiMessage.ProtocolException.class)
                .hasMessage("malformed node channel message fs_result: node= is missing");
        assertThatThrownBy(() -> NodeMessage.decode("cmd=fs_result attempt=0 ok=0 node=1 rank=1 local=0 code=1 tail=%%"))
                .isInstanceOf(PmiMessage.ProtocolException.class)
                .hasMessageStartingWith("malformed node channel message fs_result: tail is not base64url");
    }
}
