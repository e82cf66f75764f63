// Capture page: camera (getUserMedia), the liveness challenge step by step, frames
// recorded as JPEG with their times, uploaded to /capture/{token}/selfie, then submitted.
// No framework, no CDN: works in a phone browser (playsinline, front camera).
"use strict";

(function () {
  const LABELS = {
    turn_left: "左を向いてください / Turn your head to your left",
    turn_right: "右を向いてください / Turn your head to your right",
    look_up: "上を向いてください / Look up",
    look_down: "下を向いてください / Look down",
    blink: "まばたきしてください / Blink",
    smile: "笑顔になってください / Smile",
  };
  const FPS = 6;
  const MAX_WIDTH = 360;
  const LEAD_S = 1.0;
  const TAIL_S = 0.5;
  const base = location.pathname.replace(/\/+$/, "");
  const video = document.getElementById("preview");
  const prompt = document.getElementById("prompt");
  const statusLine = document.getElementById("status");
  const startButton = document.getElementById("start");
  const items = Array.from(document.querySelectorAll("#steps li"));
  let session = null;

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.className = isError ? "error" : "";
    document.body.dataset.state = isError ? "error" : document.body.dataset.state || "";
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  async function problem(response) {
    try {
      const body = await response.json();
      return body.code || body.detail || String(response.status);
    } catch (e) {
      return String(response.status);
    }
  }

  async function loadSession() {
    const response = await fetch(base + "/session", { cache: "no-store" });
    if (!response.ok) throw new Error(await problem(response));
    return response.json();
  }

  async function openCamera() {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
      audio: false,
    });
    video.srcObject = stream;
    await video.play();
    return stream;
  }

  function grab(canvas, context) {
    const scale = Math.min(1, MAX_WIDTH / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    // The frame as the camera sees it (not mirrored): the server reads turns that way.
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.75));
  }

  async function record() {
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d");
    const frames = [];
    const times = [];
    const step = session.step_seconds;
    const total = LEAD_S + session.actions.length * step + TAIL_S;
    const started = performance.now();
    let shown = -2;
    for (;;) {
      const t = (performance.now() - started) / 1000;
      if (t >= total) break;
      const index = t < LEAD_S ? -1 : Math.min(session.actions.length - 1, Math.floor((t - LEAD_S) / step));
      if (index !== shown) {
        shown = index;
        items.forEach((li, i) => {
          li.className = i < index ? "done" : i === index ? "current" : "";
        });
        prompt.textContent = index < 0 ? "正面を向いてください / Look at the camera" : LABELS[session.actions[index]] || session.actions[index];
        document.body.dataset.step = String(index);
      }
      const blob = await grab(canvas, context);
      if (blob) {
        frames.push(blob);
        times.push(Math.round(t * 1000) / 1000);
      }
      const next = started + (frames.length * 1000) / FPS;
      await sleep(Math.max(0, next - performance.now()));
    }
    items.forEach((li) => (li.className = "done"));
    prompt.textContent = "送信中 / Uploading";
    return { frames, times };
  }

  async function upload(recording) {
    const form = new FormData();
    form.append("nonce", session.nonce);
    form.append("times", JSON.stringify(recording.times));
    recording.frames.forEach((blob, i) => form.append("frames", blob, "frame" + i + ".jpg"));
    const response = await fetch(base + "/selfie", { method: "PUT", body: form });
    if (!response.ok) throw new Error(await problem(response));
    return response.json();
  }

  async function waitForOtherUploads(needs) {
    // jp_he / icao_chip: the app reads the chip over NFC and uploads it separately.
    while (needs.length > 0) {
      say("ICチップの読み取りを待っています / Waiting for the chip data from your app");
      await sleep(1500);
      const current = await loadSession();
      needs = current.needs;
    }
  }

  async function submit() {
    const response = await fetch(base + "/submit", { method: "POST" });
    if (!response.ok) throw new Error(await problem(response));
    return response.json();
  }

  async function run() {
    startButton.disabled = true;
    try {
      const recording = await record();
      const uploaded = await upload(recording);
      await waitForOtherUploads(uploaded.needs);
      say("確認中 / Checking");
      const result = await submit();
      const text = {
        approved: "本人確認が完了しました / Verified",
        rejected: "本人確認できませんでした / Could not verify",
        review: "担当者が確認します / A reviewer will check",
      }[result.status] || result.status;
      prompt.textContent = text;
      say(text);
      document.body.dataset.state = "done";
      document.body.dataset.result = result.status;
    } catch (error) {
      say("エラー / Error: " + error.message, true);
      prompt.textContent = "もう一度お試しください / Please try again";
      startButton.disabled = false;
    }
  }

  async function init() {
    items.forEach((li) => (li.textContent = LABELS[li.dataset.action] || li.dataset.action));
    try {
      session = await loadSession();
      await openCamera();
      startButton.disabled = false;
      document.body.dataset.state = "ready";
      say("");
    } catch (error) {
      say("カメラを使えません / Camera unavailable: " + error.message, true);
    }
  }

  startButton.addEventListener("click", run);
  init();
})();
