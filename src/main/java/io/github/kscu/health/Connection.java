package io.github.kscu.health;

import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Arrays;

/**
 * One open connection of the {@link HealthServer}: its request line so far, when it must be done, what
 * is left to write.
 */
final class Connection {
    final SocketChannel channel;
    final long deadline;
    byte[] line = new byte[64];
    int lineLength;
    boolean lineDone;
    /** Bytes of the head read so far, and the last two of them (the blank line can span reads). */
    int headBytes;
    byte last;
    byte beforeLast;
    ByteBuffer answer;

    Connection(SocketChannel channel, long deadline) {
        this.channel = channel;
        this.deadline = deadline;
    }

    /**
     * Takes one byte of the head: the request line's are kept, the rest only scanned. True once the head
     * has ended with an empty line ({@code \r\n\r\n}, or bare newlines).
     */
    boolean take(byte b) {
        headBytes++;
        if (!lineDone) {
            if (b == '\r' || b == '\n') {
                lineDone = true;
            } else {
                if (lineLength < HealthServer.MAX_LINE_BYTES) {
                    if (lineLength == line.length) {
                        line = Arrays.copyOf(line, Math.min(HealthServer.MAX_LINE_BYTES, 2 * line.length));
                    }
                    line[lineLength] = b;
                }
                lineLength++; // counted past the limit too, so that an overlong line is known as one
            }
        }
        boolean end = b == '\n' && headBytes > 1 && (last == '\n' || (last == '\r' && beforeLast == '\n'));
        beforeLast = last;
        last = b;
        return end;
    }
}
