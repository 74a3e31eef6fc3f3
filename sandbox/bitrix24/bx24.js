// The BX24 bridge served to app frames: BX24.* over postMessage to the sandbox portal page.
(function(){
  var state = null, waiting = [], seq = 0, callbacks = {};
  function send(cmd, args, cb){ var id = ++seq; if (cb) callbacks[id] = cb;
    parent.postMessage({bx24: true, id: id, cmd: cmd, args: args || {}}, '*'); }
  window.addEventListener('message', function(e){ var m = e.data || {}; if (!m.bx24reply) return;
    if (m.cmd === 'init') { state = m.args; waiting.splice(0).forEach(function(f){ f(); }); }
    var cb = callbacks[m.id]; if (cb) { delete callbacks[m.id]; cb(m.args); } });
  function height(){ return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight); }
  window.BX24 = {
    init: function(cb){ if (state) cb(); else waiting.push(cb); },
    placement: { info: function(){ return state ? {placement: state.placement, options: state.options} : null; },
                 call: function(cmd, params, cb){ send('placement.call', {command: cmd, params: params}, cb); } },
    getAuth: function(){ return state ? state.auth : false; },
    refreshAuth: function(cb){ send('refreshAuth', {}, function(a){ state.auth = a; if (cb) cb(a); }); },
    fitWindow: function(cb){ send('resize', {height: height()}, cb); },
    resizeWindow: function(w, h, cb){ send('resize', {width: w, height: h}, cb); },
    closeApplication: function(cb){ send('close', {}, cb); },
    installFinish: function(){ send('installFinish', {}); },
    isAdmin: function(){ return !!(state && state.admin); },
    getLang: function(){ return state ? state.lang : 'en'; },
    getDomain: function(){ return state ? state.auth.domain : ''; },
    callMethod: function(method, params, cb){
      fetch(state.auth.client_endpoint + method + '.json', {method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify(Object.assign({}, params || {}, {auth: state.auth.access_token}))})
        .then(function(r){ return r.json(); }).then(function(body){ if (cb) cb({data: function(){
          return body.result; }, error: function(){ return body.error ? {status: 400, ex: body} : null; },
          total: function(){ return body.total; }, more: function(){ return body.next !== undefined; }}); });
    }
  };
  send('init', {});
})();
