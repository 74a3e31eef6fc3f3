// The sandbox portal page's side of the BX24 bridge.
var frames = {};
window.addEventListener('message', function(e){
  var m = e.data || {}; if (!m.bx24) return;
  var frame = null; document.querySelectorAll('iframe').forEach(function(f){
    if (f.contentWindow === e.source) frame = f; });
  if (!frame) return;
  var info = JSON.parse(frame.dataset.info);
  function reply(args){ e.source.postMessage({bx24reply: true, id: m.id, cmd: m.cmd, args: args}, '*'); }
  if (m.cmd === 'init') reply(info);
  else if (m.cmd === 'resize') { if (m.args.height > 0) frame.style.height = m.args.height + 'px';
    if (m.args.width) frame.style.width = (typeof m.args.width === 'number') ? m.args.width + 'px' : m.args.width;
    reply({}); }
  else if (m.cmd === 'close') { var s = document.getElementById('slider'); s.hidden = true; reply({});
    // the placement's frame goes back where it was, empty: the next click opens the slider afresh
    s.querySelectorAll('iframe').forEach(function(f){ f.hidden = true; f.src = 'about:blank'; document.body.appendChild(f); }); }
  else if (m.cmd === 'installFinish') fetch(info.finish_url, {method: 'POST'}).then(function(){ location.reload(); });
  else if (m.cmd === 'refreshAuth') reply(info.auth);
  else if (m.cmd === 'placement.call') { if (m.args.command === 'reloadData') location.reload(); }
});
function openSlider(formId){ var s = document.getElementById('slider'); s.hidden = false;
  var f = document.getElementById(formId + '-frame'); f.hidden = false; s.appendChild(f);
  document.getElementById(formId).submit(); }
