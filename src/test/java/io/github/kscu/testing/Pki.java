package io.github.kscu.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;

/**
 * The control plane's certificates and keys, in the one layout every control plane here uses:
 * {@link ControlPlane} (the *IT tiers) and, through {@link #main}, the local-node e2e provider.
 * {@code DIR/pki/}: {@code ca.crt} and {@code ca.key} (the cluster CA, which also signs CSRs in e2e),
 * {@code apiserver.crt/.key}, {@code sa.key/.pub} (ServiceAccount tokens), and {@code NAME.crt/.key} for
 * each client.
 */
public final class Pki {
    /** A client certificate: file name, common name (the user), organisation (a group) or null. */
    public record Client(String name, String cn, String org) {
    }

    private Pki() {
    }

    /** Writes the PKI; the apiserver's certificate names loopback, the in-cluster names and {@code ips}. */
    public static TestCerts.Issued write(Path dir, List<String> ips, List<Client> clients) throws IOException {
        Path pki = Files.createDirectories(dir.resolve("pki"));
        TestCerts.Issued ca = TestCerts.ca("kscu-test-ca");
        Files.writeString(pki.resolve("ca.crt"), ca.certificatePem());
        Files.writeString(pki.resolve("ca.key"), ca.keyPem());
        TestCerts.Issued serving = TestCerts.apiserverServing(ca, ips);
        Files.writeString(pki.resolve("apiserver.crt"), serving.certificatePem());
        Files.writeString(pki.resolve("apiserver.key"), serving.keyPem());
        KeyPair sa = TestCerts.rsaKeys();
        Files.writeString(pki.resolve("sa.key"), TestCerts.pem(sa));
        Files.writeString(pki.resolve("sa.pub"), TestCerts.pem(sa.getPublic()));
        for (Client c : clients) {
            TestCerts.Issued cert = TestCerts.client(ca, c.cn(), c.org(), TestCerts.ecKeys());
            Files.writeString(pki.resolve(c.name() + ".crt"), cert.certificatePem());
            Files.writeString(pki.resolve(c.name() + ".key"), cert.keyPem());
        }
        return ca;
    }

    /**
     * Usage: {@code Pki DIR IP[,IP...] [NAME=CN[/ORG]...]}, for example
     * {@code Pki /var/lib/e2e 10.0.0.1 admin=admin/system:masters kubelet=system:node:n/system:nodes}.
     */
    public static void main(String[] args) throws Exception {
        String usage = "usage: Pki DIR IP[,IP...] [NAME=CN[/ORG]...]";
        if (args.length < 2) {
            System.err.println(usage);
            System.exit(2);
        }
        List<Client> clients = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            String[] nameRest = args[i].split("=", 2);
            if (nameRest.length != 2 || nameRest[0].isEmpty() || nameRest[1].isEmpty()) {
                System.err.println("Pki: not NAME=CN[/ORG]: " + args[i] + "; " + usage);
                System.exit(2);
            }
            String[] cnOrg = nameRest[1].split("/", 2);
            clients.add(new Client(nameRest[0], cnOrg[0], cnOrg.length > 1 ? cnOrg[1] : null));
        }
        write(Path.of(args[0]), List.of(args[1].split(",")), clients);
    }
}
