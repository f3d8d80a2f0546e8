package io.github.kscu.bench;

import java.time.Instant;

/**
 * The floor under the agent's start-up time and memory: a bare JVM from the same runtime, with the same
 * options, that prints the time its {@code main} began (in the agent's JSON log form) and then idles.
 * The agent's figures minus these are what the agent itself costs: its classes, threads, heap, TLS.
 */
public final class IdleFloor {
    private IdleFloor() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println("{\"time\":\"" + Instant.now() + "\",\"msg\":\"idle floor started\"}");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
