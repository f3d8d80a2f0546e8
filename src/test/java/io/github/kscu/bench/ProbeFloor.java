package io.github.kscu.bench;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * The floor under the kubelet source's CPU while it waits: a bare JVM from the same runtime, with the
 * same options, that only makes the probe's connections (connect, one record of {@code hello-bytes},
 * read the 7-byte alert, close) at the same pace. The agent's figure minus this one is what the agent
 * adds; this one is the kernel's TCP work and the JDK's socket code.
 *
 * <p>Usage: {@code ProbeFloor host port interval-ms hello-bytes}
 */
public final class ProbeFloor {
    private ProbeFloor() {
    }

    public static void main(String[] args) throws Exception {
        InetSocketAddress kubelet = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
        long interval = Long.parseLong(args[2]);
        int length = Integer.parseInt(args[3]) - 5;
        ByteBuffer hello = ByteBuffer.allocate(length + 5).put(new byte[] {22, 3, 1, (byte) (length >> 8),
            (byte) length});
        ByteBuffer answer = ByteBuffer.allocate(7);
        while (true) {
            try (SocketChannel c = SocketChannel.open(kubelet)) {
                c.write(hello.clear());
                answer.clear();
                while (answer.hasRemaining() && c.read(answer) >= 0) {
                    // until the alert is in
                }
            }
            Thread.sleep(interval);
        }
    }
}
