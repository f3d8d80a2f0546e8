package io.github.kscu.kube;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The bodies of the agent's writes. */
class NodeBodiesTest {
    private static final long NANOS = 0x18a1b2c3d4e5f607L;

    @Test
    void anEventIsNamedAfterItsNodeLikeClientGosRecorder() {
        assertThat(NodeBodies.eventName("ip-10-0-0-1.ec2.internal", NANOS))
                .isEqualTo("ip-10-0-0-1.ec2.internal.18a1b2c3d4e5f607");
    }

    @Test
    void aLongNodeNameIsCutSoTheEventNameFits253CharactersAndStaysADnsSubdomain() {
        String longest = "a".repeat(63) + "." + "b".repeat(63) + "." + "c".repeat(63) + "." + "d".repeat(61);
        assertThat(longest).hasSize(253);
        String name = NodeBodies.eventName(longest, NANOS);
        assertThat(name).hasSize(253).startsWith(longest.substring(0, 236)).endsWith(".18a1b2c3d4e5f607");
        // A cut that would end in '.' or '-' drops those characters: "c-.x" is not a DNS subdomain.
        String cutAtDash = "a".repeat(235) + "-" + "b".repeat(17);
        assertThat(NodeBodies.eventName(cutAtDash, NANOS)).isEqualTo("a".repeat(235) + ".18a1b2c3d4e5f607");
        String cutAtDot = "a".repeat(234) + ".-" + "b".repeat(17);
        assertThat(NodeBodies.eventName(cutAtDot, NANOS)).isEqualTo("a".repeat(234) + ".18a1b2c3d4e5f607");
    }
}
