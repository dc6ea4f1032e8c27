import java.util.Arrays;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * DynamoDB Local listening on one address only, on a given or free port.
 *
 * <p>DynamoDB Local's own main has no host option: its Jetty server listens on every interface.
 * This launcher builds the same server from the same options (ServerRunner), sets the host of
 * its connector before starting it, then prints {@code LISTENING <port>} (port 0 takes a free
 * one). With {@code --until-stdin-closes} it stops when its standard input closes, so a parent
 * that holds the pipe never leaves it behind, however the parent ends.
 *
 * <p>Usage: {@code LoopbackLauncher HOST PORT [--until-stdin-closes] [DynamoDB Local options...]}
 */
public final class LoopbackLauncher {
    private LoopbackLauncher() {}

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        boolean untilStdinCloses = args.length > 2 && args[2].equals("--until-stdin-closes");
        String[] options = Arrays.copyOfRange(args, untilStdinCloses ? 3 : 2, args.length);
        String[] serverArgs = new String[options.length + 2];
        serverArgs[0] = "-port";
        serverArgs[1] = String.valueOf(port == 0 ? 8000 : port); // its CLI refuses 0; the connector gets the real one
        System.arraycopy(options, 0, serverArgs, 2, options.length);

        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(serverArgs);
        ServerConnector connector = connectorOf(jettyOf(proxy));
        connector.setHost(host);
        connector.setPort(port);
        proxy.start();
        System.out.println("LISTENING " + connector.getLocalPort());
        System.out.flush();
        if (untilStdinCloses) {
            System.setOut(System.err); // nobody reads the pipe after the port: output must not fill it
            while (System.in.read() != -1) {
                // discard: only the end of input matters
            }
            proxy.stop();
            System.exit(0);
        }
        proxy.join();
    }

    private static Server jettyOf(DynamoDBProxyServer proxy) throws IllegalAccessException {
        for (java.lang.reflect.Field field : DynamoDBProxyServer.class.getDeclaredFields()) {
            if (Server.class.isAssignableFrom(field.getType())) {
                field.setAccessible(true);
                return (Server) field.get(proxy);
            }
        }
        throw new IllegalStateException("DynamoDBProxyServer holds no Jetty Server: not the DynamoDB Local this launcher was written for");
    }

    private static ServerConnector connectorOf(Server jetty) {
        Connector[] connectors = jetty.getConnectors();
        if (connectors.length != 1 || !(connectors[0] instanceof ServerConnector)) {
            throw new IllegalStateException("expected one ServerConnector, found " + Arrays.toString(connectors));
        }
        return (ServerConnector) connectors[0];
    }
}
