package io.github.kscu.kube;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.KubeConfig;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;

/** Builds the API client: in-cluster by default, or from a kubeconfig file. */
public final class KubeClients {
    private KubeClients() {
    }

    /**
     * @param kubeconfig {@code null} for the pod's service account
     * @throws IOException with a message fit for the one-line startup error
     */
    public static ApiClient create(Path kubeconfig) throws IOException {
        if (kubeconfig == null) {
            if (System.getenv("KUBERNETES_SERVICE_HOST") == null) {
                throw new IOException("not running in a cluster (KUBERNETES_SERVICE_HOST is unset): pass --kubeconfig");
            }
            LeanApiClient client = new LeanApiClient();
            ClientBuilder.cluster().setApiClient(client).build();
            return client.applyTls();
        }
        KubeConfig config;
        try (Reader reader = Files.newBufferedReader(kubeconfig, StandardCharsets.UTF_8)) {
            config = KubeConfig.loadKubeConfig(reader);
        } catch (RuntimeException e) {
            throw new IOException("kubeconfig " + kubeconfig + " does not parse: " + e.getMessage(), e);
        }
        config.setFile(kubeconfig.toAbsolutePath().toFile());
        if (config.getServer() == null) {
            throw new IOException("kubeconfig " + kubeconfig + " has no current context with a cluster server");
        }
        LeanApiClient lean = new LeanApiClient();
        ClientBuilder builder = ClientBuilder.kubeconfig(config).setApiClient(lean);
        byte[] cert = config.getDataOrFileRelative(config.getClientCertificateData(), config.getClientCertificateFile());
        byte[] key = config.getDataOrFileRelative(config.getClientKeyData(), config.getClientKeyFile());
        if (cert != null && key != null) {
            // client-java would parse the key with Bouncy Castle, which we do not ship (see pom.xml).
            builder.setAuthentication(client -> {
                try {
                    client.setKeyManagers(ClientCertificates.keyManagers(cert, key));
                } catch (GeneralSecurityException | IOException e) {
                    throw new IllegalArgumentException("kubeconfig " + kubeconfig + ": client certificate or key"
                            + " does not load: " + e.getMessage(), e);
                }
            });
        }
        try {
            builder.build();
            return lean.applyTls();
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }
}
