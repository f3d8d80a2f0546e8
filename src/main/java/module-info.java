/** kubelet-server-cert-untaint: removes a node's startup taint once its kubelet serving certificate is valid. */
module io.github.kscu {
    requires io.kubernetes.client.java;
    requires io.kubernetes.client.java.api;
    requires okhttp3;
    requires okio;
    requires com.google.gson;
    requires org.tinylog.api;
    requires org.tinylog.impl;
    requires info.picocli;
    requires io.prometheus.metrics.core;
    requires io.prometheus.metrics.model;
    requires io.prometheus.writer.text;
    requires java.naming;
    requires jdk.unsupported;

    exports io.github.kscu.agent;
    exports io.github.kscu.config;
    exports io.github.kscu.health;
    exports io.github.kscu.report;
    exports io.github.kscu.kube;
    exports io.github.kscu.cert;
    exports io.github.kscu.taint;
    exports io.github.kscu.condition;
    exports io.github.kscu.log to org.tinylog.impl;
}
