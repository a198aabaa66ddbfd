/** The MQTT block of the status page: who is connected, what flows in, what was turned away. */
import type { StatusSectionView } from '../../src/admin/status.js';
import type { MqttBridge } from './index.js';

export function mqttStatusSection(bridge: MqttBridge): StatusSectionView {
  const s = bridge.stats();
  const refused = Object.values(s.refused).reduce((a, b) => a + b, 0);
  const turnedAway = s.connections.rejectedMaxConnections + s.connections.closedOversize + s.connections.closedProtocolError;
  const listeners: [string, string][] = [['mqtt (tcp)', `${bridge.address.host}:${bridge.address.port}`]];
  if (bridge.tlsAddress !== undefined) listeners.push(['mqtts (tls)', `${bridge.tlsAddress.host}:${bridge.tlsAddress.port}`]);
  if (bridge.wsAddress !== undefined) listeners.push(['websocket', `${bridge.wsAddress.host}:${bridge.wsAddress.port}`]);
  return {
    id: 'mqtt',
    title: 'MQTT clients',
    cards: [
      { id: 'clients', label: 'clients connected', value: s.connections.open },
      { id: 'received', label: 'PUBLISH received', value: s.received.reduce((a, b) => a + b, 0), rate: 'msg/s' },
      { id: 'appended', label: 'records appended from MQTT', value: s.appended, rate: 'records/s' },
      { id: 'refused', label: 'publishes refused or dropped (total)', value: refused + s.unmatchedDropped },
      { id: 'turned-away', label: 'connections closed for bad input or limits', value: turnedAway },
      { id: 'auth-failed', label: 'failed logins and ACL denials', value: s.connections.authFailed + s.connections.aclDenied },
    ],
    table: { columns: [{ label: 'listener' }, { label: 'address' }], rows: listeners },
  };
}
