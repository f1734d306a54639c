/** Bench server: the bare stateless SDK server, no gate (what the gate's cost is measured against). */
import { echoMcp, serve } from './echo-mcp.js';

serve('bare', (request) => echoMcp(request));
