// Preloaded (node -r) into a server the benchmark runs but does not
// configure (the Portkey gateway listens on every interface by default):
// any listen() on a TCP port without a host binds 127.0.0.1 only.
'use strict';

const net = require('node:net');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function patchedListen(...args) {
  const a = args[0];
  if (a && typeof a === 'object' && !Array.isArray(a) && a.path === undefined && !a.host) {
    args[0] = { ...a, host: '127.0.0.1' };
  } else if (typeof a === 'number' || (typeof a === 'string' && /^\d+$/.test(a))) {
    if (args.length > 1 && (args[1] === undefined || args[1] === null)) args[1] = '127.0.0.1';
    else if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
