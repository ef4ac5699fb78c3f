// calls.js — voice in the agent's console (docs/architecture.md, "Voice in the console"):
// click-to-call — the Call button of an assigned conversation (the gate's word on a call now in
// its title; the click's answer under it) — a call's events in the thread in words, and the
// notice of a call the agent's phone did not answer.
// Loaded after console.js, whose helpers ($, send, S) it uses.
'use strict';

// Click-to-call (docs/console-protocol.md, "Click-to-call"): the gate's word on a call now is
// on the button; the click's answer (rings your phone, or the reason it may not) under it.
function showCall(m) {
  const c = m.call || { allowed: false, text: '' };
  const b = $('call-debtor');
  b.disabled = false; // the router decides at the click (the clock moves); the reason shows here
  b.title = c.allowed ? 'Rings your phone, then the debtor' : c.text;
  if ($('call-status').dataset.debtor !== m.debtor) {
    $('call-status').dataset.debtor = m.debtor;
    $('call-status').className = 'status';
    $('call-status').textContent = '';
  }
}

$('call-debtor').addEventListener('click', async () => {
  const d = S.conv && S.conv.debtor;
  if (!d) return;
  const st = $('call-status');
  st.className = 'status';
  st.textContent = 'calling…';
  const r = await send('call', { debtor: d });
  if (!S.conv || S.conv.debtor !== d) return;
  if (r.t === 'reply_result' && r.ok) st.textContent = 'Your phone rings now; the debtor is called when you answer.';
  else { st.className = 'status error'; st.textContent = 'Not called: ' + (r.text || r.code || 'refused'); }
});

// A call's events in the thread, in words (docs/protocol.md §10.4.2).
function callEvent(v) {
  const dur = v.duration_s ? ', ' + v.duration_s + ' s' : '';
  switch (v.event) {
    case 'call_start': return 'Call started';
    case 'gather': return 'Pressed ' + (v.digits || '—');
    case 'agent_ringing': return 'Ringing the agent\'s phone';
    case 'agent_connected': return 'Connected to the agent';
    case 'agent_no_answer': return 'The agent did not answer (' + (v.status || 'no answer') + '): the caller waits in the queue again';
    case 'call_end': return 'Call ended (' + (v.status || 'ended') + dur + ')';
    case 'debtor_dialed': return v.status === 'completed' || v.status === 'answered' ? 'The debtor answered' + dur
      : v.status === 'busy' ? 'The debtor\'s line was busy' : v.status === 'no-answer' ? 'The debtor did not answer'
        : 'The debtor was not reached (' + (v.status || 'failed') + ')';
    case 'connect_failed': return v.requeued
      ? 'The call could not be put through to the agent (provider error ' + (v.status || '?') + '): the caller waits in the queue again'
      : 'The call ended before it reached the agent (' + (v.status || 'ended') + ')';
    default: return v.event;
  }
}

// The agent's phone did not answer a caller put through to it (conv_gone, reason
// call_unanswered): the conversation went back to the queue; the notice above the lists says so
// until the agent clicks it away.
function callUnanswered(m) {
  const n = $('desk-notice');
  n.className = 'status error';
  n.textContent = 'You did not answer the call from ' + (m.name || m.debtor) + '; it went back to the queue.';
  lose(m.debtor, 'went back to the queue (your phone did not answer the call)');
}
$('desk-notice').addEventListener('click', () => { $('desk-notice').className = 'status'; $('desk-notice').textContent = ''; });
